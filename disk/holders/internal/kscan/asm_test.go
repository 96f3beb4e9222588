package kscan

import (
	"encoding/hex"
	"strings"
	"testing"
)

func TestAssemble(t *testing.T) {
	var p bpfProg
	p.movReg(r1, r10)              // bf a1
	p.load(sizeDW, r7, r6, 8)      // 79 67 +8
	p.jumpEq(r7, 0, "out")         // 15 07 +2
	p.storeImm(sizeDW, r10, -8, 0) // 7a 0a -8
	p.call(helperProbeReadKernel)  // 85 00 imm 113
	p.mark("out")                  //
	p.callKfunc(5)                 // 85 20 imm 5
	p.mark("end")                  // two labels in a row: a ja +0 between
	p.mark("end2")                 //
	p.movImm(r0, -1)               // b7 00 imm -1
	p.exit()                       // 95
	p.jumpNeReg(r1, r2, "out")     // 5d 21 back to "out"
	got, err := p.assemble()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		"bfa1000000000000",
		"7967080000000000",
		"1507020000000000",
		"7a0af8ff00000000",
		"8500000071000000",
		"8520000005000000",
		"0500000000000000",
		"b7000000ffffffff",
		"9500000000000000",
		"5d21fbff00000000",
	}, "")
	if hex.EncodeToString(got) != want {
		t.Errorf("got  %x\nwant %s", got, want)
	}
	for name, build := range map[string]func(p *bpfProg){
		"undefined": func(p *bpfProg) { p.jump("nowhere"); p.exit() },
		"twice":     func(p *bpfProg) { p.mark("a"); p.exit(); p.mark("a"); p.exit() },
		"trailing":  func(p *bpfProg) { p.exit(); p.mark("a") },
	} {
		var p bpfProg
		build(&p)
		if _, err := p.assemble(); err == nil {
			t.Errorf("%s label: got no error", name)
		}
	}
}
