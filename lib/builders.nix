# The builders bound to a package set, once: `lib.withPkgs pkgs` and the
# module (from-nixos.nix, with its toolsPackage) both take them from here.
{
  pkgs,
  nixos-image-tools ? pkgs.nixos-image-tools or (pkgs.callPackage ../package.nix { }),
}:
let
  withTools = file: pkgs.callPackage file { inherit nixos-image-tools; };
in
{
  inherit nixos-image-tools;
  mkEspTree = pkgs.callPackage ./make-esp-tree.nix { };
  mkRootStaging = withTools ./stage-root.nix;
  mkRootTree = withTools ./make-root-tree.nix;
  mkDiskImage = withTools ./make-disk-image.nix;
  mkInstallerPackage = withTools ./make-installer-package.nix;
}
