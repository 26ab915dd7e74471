# From nixpkgs nixos/modules/system/boot/stage-1.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. The options this fixture needs and the
# root-filesystem assertion. Simplified: system.build.initialRamdisk is a
# fixture derivation (makeInitrd there) recording the kernel modules and the
# filesystems needed for boot; stage-1 scripts are not modelled.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}:
let
  inherit (lib) mkOption types;
  fileSystems = lib.filter utils.fsNeededForBoot (lib.attrValues config.fileSystems);
  kernel = config.boot.kernelPackages.kernel;
  initialRamdisk =
    pkgs.runCommand "initrd-linux-${kernel.modDirVersion or kernel.version}"
      {
        kernelModules = config.boot.initrd.availableKernelModules ++ config.boot.initrd.kernelModules;
        mountPoints = map (fs: fs.mountPoint) fileSystems;
        inherit kernel;
        systemdInitrd = config.boot.initrd.systemd.enable;
        passthru.initrdFile = config.system.boot.loader.initrdFile;
      }
      ''
        # nixos-fixture: stands in for makeInitrd; never built.
        mkdir -p "$out" && touch "$out/initrd"
      '';
in
{
  options = {
    boot.initrd.enable = mkOption {
      type = types.bool;
      default = !config.boot.isContainer;
      defaultText = lib.literalExpression "!config.boot.isContainer";
      description = "Whether to enable the NixOS initial RAM disk (initrd).";
    };

    boot.initrd.supportedFilesystems = mkOption {
      default = { };
      type = types.coercedTo (types.listOf types.str) (
        enabledList: lib.genAttrs enabledList (_attrName: true)
      ) (types.attrsOf types.bool);
      description = "Names of supported filesystem types in the initial ramdisk.";
    };

    boot.initrd.checkJournalingFS = mkOption {
      default = true;
      type = types.bool;
      description = "Whether to run {command}`fsck` on journaling filesystems such as ext3.";
    };

    boot.loader.supportsInitrdSecrets = mkOption {
      internal = true;
      default = false;
      type = types.bool;
      description = "Whether the bootloader setup runs append-initrd-secrets.";
    };

    fileSystems = mkOption {
      type = types.attrsOf (
        types.submodule {
          options.neededForBoot = mkOption {
            default = false;
            type = types.bool;
            description = ''
              If set, this file system will be mounted in the initial ramdisk.
              Note that the file system will always be mounted in the initial
              ramdisk if its mount point is one of the following:
              ${lib.concatStringsSep ", " (map (i: "{file}`${i}`") utils.pathsNeededForBoot)}.
            '';
          };
        }
      );
    };

    system.build.initialRamdisk = mkOption {
      internal = true;
      type = types.package;
      description = "The initial RAM disk (fixture derivation).";
    };
  };

  config = lib.mkIf config.boot.initrd.enable {
    assertions = [
      {
        assertion = lib.any (fs: fs.mountPoint == "/") (lib.attrValues config.fileSystems);
        message = "The ‘fileSystems’ option does not specify your root file system.";
      }
    ];

    system.build.initialRamdisk = initialRamdisk;
  };
}
