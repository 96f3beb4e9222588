package luks

import "testing"

// TestMarshalOrder holds the encoding of metadata with every optional and
// unknown member: known members in cryptsetup's order, unknown ones after
// them as they were read (compacted), 64-bit numbers as decimal strings, and
// empty flags written as an empty array.
func TestMarshalOrder(t *testing.T) {
	in := `{"keyslots":{"3":{"type":"luks2","key_size":64,"x<y":"a&b>c","af":{"type":"luks1","stripes":4000` +
		`,"hash":"sha256","q":[1, 2 ,{"a":"<"}]},"area":{"type":"raw","offset":"32768","size":"258048","e` +
		`ncryption":"aes-xts-plain64","key_size":64,"z":null},"kdf":{"type":"pbkdf2","hash":"sha256","ite` +
		`rations":1000,"salt":"6TGQ","m":true},"priority":2},"4":{"type":"other","key_size":8,"area":{"ty` +
		`pe":"odd","offset":"1","size":"2"},"u":"\u00e9\u2028"}},"tokens":{"0":{"type":"x<","keyslots":["` +
		`3"],"a":{"b":[1,"2",null]}},"1":{"type":"y","keyslots":[]}},"segments":{"0":{"type":"crypt","off` +
		`set":"16777216","size":"dynamic","iv_tweak":"7","encryption":"aes-xts-plain64","sector_size":409` +
		`6,"integrity":{"type":"hmac(sha256)", "journal_encryption":"none"},"flags":[]},"1":{"type":"line` +
		`ar","offset":"0","size":"4096","flags":["a","<b>"],"e":1.5e3}},"digests":{"0":{"type":"pbkdf2","` +
		`keyslots":["3"],"segments":["0"],"hash":"sha256","iterations":1,"salt":"AA==","digest":"AA==","w` +
		`":"x"},"1":{"type":"other","keyslots":[],"segments":[]}},"config":{"json_size":"12288","keyslots` +
		`_size":"16744448","flags":[],"requirements":{"mandatory":["x"]},"c":"&"},"top":{"k":"v"}}`
	want := `{"keyslots":{"3":{"type":"luks2","key_size":64,"af":{"type":"luks1","stripes":4000,"hash":"sha25` +
		`6","q":[1,2,{"a":"<"}]},"area":{"type":"raw","offset":"32768","size":"258048","encryption":"aes-` +
		`xts-plain64","key_size":64,"z":null},"kdf":{"type":"pbkdf2","hash":"sha256","iterations":1000,"s` +
		`alt":"6TGQ","m":true},"priority":2,"x\u003cy":"a&b>c"},"4":{"type":"other","key_size":8,"area":{` +
		`"type":"odd","offset":"1","size":"2"},"u":"\u00e9\u2028"}},"tokens":{"0":{"type":"x\u003c","keys` +
		`lots":["3"],"a":{"b":[1,"2",null]}},"1":{"type":"y","keyslots":[]}},"segments":{"0":{"type":"cry` +
		`pt","offset":"16777216","size":"dynamic","iv_tweak":"7","encryption":"aes-xts-plain64","sector_s` +
		`ize":4096,"integrity":{"type":"hmac(sha256)","journal_encryption":"none"},"flags":[]},"1":{"type` +
		`":"linear","offset":"0","size":"4096","flags":["a","\u003cb\u003e"],"e":1.5e3}},"digests":{"0":{` +
		`"type":"pbkdf2","keyslots":["3"],"segments":["0"],"hash":"sha256","iterations":1,"salt":"AA==","` +
		`digest":"AA==","w":"x"},"1":{"type":"other","keyslots":[],"segments":[]}},"config":{"json_size":` +
		`"12288","keyslots_size":"16744448","flags":[],"requirements":{"mandatory":["x"]},"c":"&"},"top":` +
		`{"k":"v"}}`
	m, err := parseMetadataOpt([]byte(in), DefaultMetadataSize, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(m.marshal()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
