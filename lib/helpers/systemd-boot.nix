# What NixOS's systemd-boot installer (systemd-boot-builder.py) writes on an
# ESP, for building the image's ESP the same way.
let
  inherit (builtins)
    concatStringsSep
    substring
    stringLength
    baseNameOf
    ;
in
rec {
  # Where NixOS's systemd-boot installer (systemd-boot-builder.py,
  # copy_from_file) puts a kernel or initrd on the ESP:
  # /nix/store/abc-linux-6.8/Image -> EFI/nixos/abc-linux-6.8-Image.efi.
  # The image build applies the same rule to the resolved path at build time;
  # this copy exists so the rule can be tested here.
  efiFileName =
    storeFile:
    let
      s = toString storeFile;
      rel = substring (stringLength builtins.storeDir + 1) (stringLength s) s;
      parts = builtins.split "/" rel;
      storeDirName = builtins.head parts;
      file = baseNameOf s;
    in
    "EFI/nixos/" + (if rel == storeDirName then "${file}.efi" else "${storeDirName}-${file}.efi");

  # loader/loader.conf as systemd-boot-builder.py writes it (write_loader_conf).
  loaderConf =
    {
      timeout ? 5,
      editor ? true,
      consoleMode ? "keep",
      generation ? 1,
    }:
    concatStringsSep "" (
      [
        "timeout ${if timeout == null then "menu-force" else toString timeout}\n"
        "default nixos-generation-${toString generation}.conf\n"
      ]
      ++ (if editor then [ ] else [ "editor 0\n" ])
      ++ [ "console-mode ${consoleMode}\n" ]
    );

  # The bootspec label NixOS puts in the entry's version line.
  bootLabel =
    {
      distroName,
      codeName,
      label,
      kernelModDirVersion,
    }:
    "${distroName} ${codeName} ${label} (Linux ${kernelModDirVersion})";
}
