# tests/nix/formats.nix built through the stand-in (TEST FIXTURE, not nixpkgs).
{
  toolsBin,
  toolsStamp ? "",
  extraPath ? "",
  fs ? "ext4",
}:
import ./formats.nix {
  pkgs = import ./stand-in.nix { inherit toolsBin toolsStamp extraPath; };
  inherit fs;
}
