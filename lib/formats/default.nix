# The image formats of lib.mkImage and modules/image.nix. A format is one
# file here plus its line below: an attrset of
#   layout       (builtins only) the mkimage layout, if it writes one
#   base         optional: the format it builds on (qcow2 on raw-efi)
#   module       a NixOS module, active when nixosImage.formats (the
#                format and its bases) names it: mounts, boot loader,
#                first-boot needs
#   build        { config, pkgs, common, base } -> system.build.image
#                (common: lib/formats/common.nix; base: the base's image)
{
  asahi = import ./asahi.nix;
  raw-efi = import ./raw-efi.nix;
  sd-card = import ./sd-card.nix;
  qcow2 = import ./qcow2.nix;
}
