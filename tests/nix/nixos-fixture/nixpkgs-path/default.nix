# TEST FIXTURE -- NOT NIXPKGS. `pkgs.path` of the fixture package set.
# Importing it (a second nixpkgs, e.g. hardware.asahi.pkgsSystem for a
# cross-built set) is not supported by the fixture.
_: throw "nixos-fixture: importing pkgs.path (a second nixpkgs instance) is not in the fixture"
