# The disk layout mkimage reads (`mkimage --layout`, as JSON) and the btrfs
# subvolumes, which also drive the mounts (modules/) and the staging
# (stage-root.nix).
let
  inherit (builtins)
    toJSON
    ;
  inherit (import ./naming.nix) checkFs rootLabel;
in
rec {
  # The btrfs subvolumes and where the system mounts them.
  btrfsSubvolumes = [
    {
      path = "@";
      source = "@";
      mountPoint = "/";
    }
    {
      path = "@home";
      source = "@home";
      mountPoint = "/home";
    }
    {
      path = "@nix";
      source = "@nix";
      mountPoint = "/nix";
    }
  ];

  # The attrset handed to `mkimage --layout` (as JSON). Sources may be store
  # paths; their string context makes them build inputs. A relative source
  # is resolved against the layout file's directory: rootSource = "root"
  # names the tree make-disk-image.nix stages there (stageRoot).
  diskLayout =
    {
      fs,
      seed,
      espSource,
      rootSource,
      volumeId,
      sectorSize ? 4096,
      espSize ? "512MiB",
      size ? "auto",
      rootSize ? "auto",
      label ? rootLabel,
      rootUuid ? null,
    }:
    {
      table = "gpt";
      inherit sectorSize seed size;
      partitions = [
        {
          name = "ESP";
          type = "esp";
          size = espSize;
          content = {
            fs = "vfat";
            source = "${espSource}";
            label = "ESP";
            inherit volumeId;
          };
        }
        {
          name = label;
          type = "linux";
          size = rootSize;
          content =
            {
              fs = checkFs fs;
              source = "${rootSource}";
              inherit label;
            }
            // (if rootUuid == null then { } else { uuid = rootUuid; })
            // (
              if fs == "btrfs" then
                {
                  subvolumes = map (s: { inherit (s) path source; }) btrfsSubvolumes;
                }
              else
                { }
            );
        }
      ];
    };

  diskLayoutJSON = args: toJSON (diskLayout args);

  # fileSystems of a GPT image's root (with its btrfs subvolumes) and ESP,
  # mounted by the devices given.
  efiMounts =
    {
      fs,
      rootDevice,
      espDevice,
      autoResize,
    }:
    {
      "/" = {
        device = rootDevice;
        fsType = checkFs fs;
        inherit autoResize;
      }
      // (if fs == "btrfs" then { options = [ "subvol=@" ]; } else { });
      "/boot" = {
        device = espDevice;
        fsType = "vfat";
        # What nixos-generate-config records for an ESP mounted with
        # umask=077, as the NixOS manual's installation steps mount it:
        # with 0022 bootctl warns that the random seed file's mount point
        # is world accessible.
        options = [
          "fmask=0077"
          "dmask=0077"
        ];
      };
    }
    // (
      if fs == "btrfs" then
        builtins.listToAttrs (
          map (s: {
            name = s.mountPoint;
            value = {
              device = rootDevice;
              fsType = "btrfs";
              options = [ "subvol=${s.path}" ];
              neededForBoot = s.mountPoint == "/nix";
            };
          }) (builtins.filter (s: s.mountPoint != "/") btrfsSubvolumes)
        )
      else
        { }
    );
}
