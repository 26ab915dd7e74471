# Test fixture: the `locks` argument of lib/starter-config.nix as the module
# derives it from a flake's inputs, with this repository's own flake.lock
# standing in for the inputs' locks and a made-up rev for nixos-image-tools.
# Used by helpers-tests.nix and packaging.nix.
{ lastModified }:
let
  ownLock = builtins.fromJSON (builtins.readFile ../../flake.lock);
  pinOf = node: { inherit (node.locked) rev narHash lastModified; };
  toolsRev = "0123456789abcdef0123456789abcdef01234567";
in
{
  inherit ownLock toolsRev;
  locks = {
    nixpkgs = pinOf ownLock.nodes.nixpkgs;
    # An input's own flake.lock: flake-compat is copied, nixpkgs followed.
    nixos-apple-silicon = pinOf ownLock.nodes.nixos-apple-silicon // {
      flakeLock = {
        root = "root";
        version = 7;
        nodes = {
          root.inputs = {
            flake-compat = "flake-compat";
            nixpkgs = "nixpkgs";
          };
          inherit (ownLock.nodes) flake-compat nixpkgs;
        };
      };
    };
    nixos-image-tools = {
      rev = toolsRev;
      narHash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
      inherit lastModified;
      flakeLock = ownLock;
    };
  };
}
