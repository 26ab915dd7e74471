# The library's helpers that use only `builtins`, so `nix-instantiate`
# evaluates and tests them without nixpkgs (tests/nix/helpers-tests.nix),
# one file per concern.
import ./naming.nix
// import ./layout.nix
// import ./installer-entry.nix
// import ./systemd-boot.nix
// import ./text.nix
// import ./flake-lock.nix
