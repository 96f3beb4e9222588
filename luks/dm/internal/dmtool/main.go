// Command dmtool drives package dm from the command line, for the VM tests
// of luks/dm: each subcommand is one call of the package, printing its
// result as JSON. The key of create is read from stdin as hex, never from
// argv.
//
//	dmtool version
//	dmtool create [-uuid U] [-iv-offset N] [-sector-size N] [-discards] [-ro] [-count N] NAME DEVICE OFFSET LENGTH CIPHER < hexkey
//	dmtool info|deps|table|table-keys|remove-deferred|cancel-deferred NAME
//	dmtool remove NAME...
//	dmtool list
//
// With -count N, create makes N devices NAME-00, NAME-01, ... with uuids
// U-00, U-01, ... in one run.
//
// Exit status: 0 done, 3 busy (ErrBusy), 4 no such device (ErrNotFound),
// 5 exists (ErrExists), 2 bad usage, 1 anything else.
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"simplecloud/luks/dm"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: dmtool COMMAND [ARGS]")
		os.Exit(2)
	}
	err := run(os.Args[1], os.Args[2:], os.Stdin, os.Stdout)
	if err == nil {
		return
	}
	fmt.Fprintln(os.Stderr, "dmtool:", err)
	switch {
	case errors.Is(err, errUsage):
		os.Exit(2)
	case errors.Is(err, dm.ErrBusy):
		os.Exit(3)
	case errors.Is(err, dm.ErrNotFound):
		os.Exit(4)
	case errors.Is(err, dm.ErrExists):
		os.Exit(5)
	}
	os.Exit(1)
}

var errUsage = errors.New("bad usage")

func run(cmd string, args []string, stdin io.Reader, stdout io.Writer) error {
	c, err := dm.Open()
	if err != nil {
		return err
	}
	defer c.Close()
	out := func(v any, err error) error {
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(v)
	}
	if cmd == "create" {
		return create(c, args, stdin)
	}
	if cmd == "version" || cmd == "list" {
		if len(args) != 0 {
			return fmt.Errorf("%s takes no arguments: %w", cmd, errUsage)
		}
		if cmd == "list" {
			return out(c.List())
		}
		major, minor, patch, err := c.Version()
		return out(fmt.Sprintf("%d.%d.%d", major, minor, patch), err)
	}
	if cmd == "remove" && len(args) > 0 {
		for _, name := range args {
			if err := c.Remove(name); err != nil {
				return err
			}
		}
		return nil
	}
	if len(args) != 1 {
		return fmt.Errorf("%s takes one NAME: %w", cmd, errUsage)
	}
	name := args[0]
	switch cmd {
	case "info":
		return out(c.Info(name))
	case "deps":
		return out(c.Deps(name))
	case "table":
		return out(c.Table(name))
	case "table-keys":
		return out(c.TableWithKeys(name))
	case "remove-deferred":
		return c.RemoveDeferred(name)
	case "cancel-deferred":
		return c.CancelDeferredRemove(name)
	}
	return fmt.Errorf("unknown command %q: %w", cmd, errUsage)
}

func create(c *dm.Control, args []string, stdin io.Reader) error {
	fs := flag.NewFlagSet("create", flag.ContinueOnError)
	uuid := fs.String("uuid", "", "device uuid")
	ivOffset := fs.Uint64("iv-offset", 0, "IV offset in sectors")
	sectorSize := fs.Int("sector-size", 0, "encryption sector size")
	discards := fs.Bool("discards", false, "allow discards")
	ro := fs.Bool("ro", false, "read-only")
	count := fs.Int("count", 0, "make this many devices, numbered")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() != 5 {
		return fmt.Errorf("create NAME DEVICE OFFSET LENGTH CIPHER: %w", errUsage)
	}
	a := fs.Args()
	offset, err1 := strconv.ParseUint(a[2], 10, 64)
	length, err2 := strconv.ParseUint(a[3], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	hexKey, err := io.ReadAll(stdin)
	if err != nil {
		return fmt.Errorf("read key: %w", err)
	}
	defer clear(hexKey)
	trimmed := bytes.TrimSpace(hexKey)
	key := make([]byte, hex.DecodedLen(len(trimmed)))
	defer clear(key)
	if _, err := hex.Decode(key, trimmed); err != nil {
		return fmt.Errorf("key on stdin is not hex")
	}
	t := dm.CryptTarget{
		Cipher: a[4], Key: key, IVOffset: *ivOffset, Offset: offset, Length: length, Device: a[1],
		SectorSize: *sectorSize, AllowDiscards: *discards, ReadOnly: *ro,
	}
	if *count == 0 {
		return c.CreateCrypt(a[0], *uuid, t)
	}
	for i := range *count {
		u := ""
		if *uuid != "" {
			u = fmt.Sprintf("%s-%02d", *uuid, i)
		}
		if err := c.CreateCrypt(fmt.Sprintf("%s-%02d", a[0], i), u, t); err != nil {
			return err
		}
	}
	return nil
}
