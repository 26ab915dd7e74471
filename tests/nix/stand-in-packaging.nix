# tests/nix/packaging.nix built through the stand-in (TEST FIXTURE, not nixpkgs).
{
  toolsBin,
  toolsStamp ? "",
  extraPath ? "",
  fs ? "btrfs",
}:
let
  pkgs = import ./stand-in.nix { inherit toolsBin toolsStamp extraPath; };
  p = import ./packaging.nix { inherit pkgs fs; };
in
p
// {
  all = [
    p.image
    p.package
    p.verify
  ];
}
