# SimpleCloud build, test and demo. `make test` and `make demo` install their
# own dependencies on a Debian machine (run as root).

GO        ?= go
GOBIN     := $(shell $(GO) env GOPATH)/bin
export PATH := $(PATH):$(GOBIN):/usr/sbin:/sbin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
PKGS      := ./...

.PHONY: all build build-pam deb debtest image image-refresh vmtest-appliance vmtest-appliance-ci late demo-appliance deps lint unit vmtest conformance test demo bench fuzz clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/simplecloud ./cmd/simplecloud

# A dynamically linked build with PAM password login (serve --password-auth).
build-pam:
	CGO_ENABLED=1 $(GO) build -trimpath -tags pam -ldflags '$(LDFLAGS)' -o bin/simplecloud-pam ./cmd/simplecloud

# The Debian package simplecloud_VERSION_amd64.deb (images/deb; needs nfpm,
# which make deps installs).
deb: build
	$(GO) run ./images/deb -describe '$(VERSION)' -date "$$(git log -1 --format=%ct)" -bin bin/simplecloud -out .

# The appliance image bin/simplecloud-appliance.img (images/appliance): GPT,
# an ESP with systemd-boot, a Debian 12 root with the package installed. The
# Debian base root is cached in ~/.cache/simplecloud (about 2.5 minutes to
# make; image-refresh drops it to take Debian's updates). Needs root.
image: deb
	$(GO) run ./images/appliance -deb "$$(ls -t simplecloud_*_amd64.deb | head -1)" -date "$$(git log -1 --format=%ct)" -out bin/simplecloud-appliance.img

image-refresh:
	rm -f $$HOME/.cache/simplecloud/appliance-base-*.tar

# Builds the image twice and compares the bytes (TestImageReproducible),
# then boots it under qemu and OVMF (TestVMAppliance): unattended
# first-boot install, reboot, unlock over SSH and an sftp upload, reboot,
# unlock at the console and the file read back, nothing failed; and the
# installer's TUI on the serial console (TestVMApplianceTUI).
vmtest-appliance: deps image
	SIMPLECLOUD_APPLIANCE_IMAGE=$(CURDIR)/bin/simplecloud-appliance.img SIMPLECLOUD_BIN=$(CURDIR)/bin/simplecloud \
	SIMPLECLOUD_APPLIANCE_DEB="$$(ls -t $(CURDIR)/simplecloud_*_amd64.deb | head -1)" \
		$(GO) test -tags vmtest,deb -run '^(TestImageReproducible|TestVMAppliance|TestVMApplianceTUI)$$' -count=1 -v -timeout 30m ./images/appliance/

# CI's part of it: the two boot stories without the reproducibility check
# (three more image builds), run beside the conformance suites (.ci/stages
# "late"): the guest's one vCPU and the suites share the machine.
vmtest-appliance-ci: deps image
	SIMPLECLOUD_APPLIANCE_IMAGE=$(CURDIR)/bin/simplecloud-appliance.img SIMPLECLOUD_BIN=$(CURDIR)/bin/simplecloud \
	SIMPLECLOUD_APPLIANCE_DEB="$$(ls -t $(CURDIR)/simplecloud_*_amd64.deb | head -1)" \
		$(GO) test -tags vmtest,deb -run '^(TestVMAppliance|TestVMApplianceTUI)$$' -count=1 -v -timeout 30m ./images/appliance/

# The conformance suites and the appliance's boot tests at once, each
# target's output printed whole when it ends.
late:
	$(MAKE) --no-print-directory -j2 --output-sync=target conformance vmtest-appliance-ci

# Builds the package twice, runs lintian on it, and installs, upgrades,
# removes and purges it in a clean Debian 12 root (mmdebstrap, cached in
# ~/.cache/simplecloud).
debtest: deps
	$(GO) test -tags deb -run '^TestDeb' -count=1 -v -timeout 20m ./images/deb/

deps:
	bash .ci/deps

lint: deps
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(GO) vet -tags vmtest,bench,pam,conformance,deb $(PKGS)
	staticcheck $(PKGS)
	staticcheck -tags vmtest,bench,pam,conformance,deb $(PKGS)

# Unit and root tests (root tests skip with a message when not root).
unit:
	$(GO) test -count=1 -timeout 15m $(PKGS)
	$(GO) test -tags pam -count=1 -run PAM ./sync/server/

# Tests in a real guest kernel under qemu (software emulation). They fail
# with instructions when qemu or the kernel package is missing; set
# SIMPLECLOUD_SKIP_VM=1 to skip them explicitly.
vmtest: deps
	$(GO) test -tags vmtest -run '^TestVM' -count=1 -timeout 30m $(PKGS)

# pjdfstest and sshfs's own test suite (../shared/suites) on sshfs mounts of
# our server and of OpenSSH's sftp-server, side by side; fails when a case
# passes there and not here. The tables go to bin/conformance/report.md, with
# the suites' raw outputs.
conformance: deps
	SIMPLECLOUD_CONFORMANCE_OUT=$(CURDIR)/bin/conformance \
		$(GO) test -tags conformance -run '^TestConformance$$' -count=1 -v -timeout 60m ./sync/server/

# The stages print their times (.ci/stages), to keep CI's budget in view.
test: deps
	@MAKE='$(MAKE)' bash .ci/stages lint unit fuzz vmtest debtest late

# Every fuzz target, briefly (FUZZTIME=30s make fuzz for a longer run).
fuzz:
	bash .ci/fuzz

# Boots a guest with blank virtual disks and shows what simplecloud sees.
demo: deps
	$(GO) run ./images/demo

# The appliance image under qemu (images/appliance/demo): first boot
# installs, reboot, unlock over SSH, a file uploaded with sftp.
demo-appliance: deps image
	$(GO) run ./images/appliance/demo -image bin/simplecloud-appliance.img -simplecloud bin/simplecloud

# Benchmarks against the reference tools, side by side (goals, not timed tests).
bench: deps
	$(GO) test -tags bench -run '^TestBench' -count=1 -v -timeout 60m $(PKGS)

clean:
	rm -rf bin simplecloud_*.deb
