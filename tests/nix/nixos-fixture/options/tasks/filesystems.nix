# From nixpkgs nixos/modules/tasks/filesystems.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. Options as declared there, with the
# submodule's config (device from label, options from autoResize /
# autoFormat / neededForBoot / depends), the assertions and /etc/fstab
# (environment.etc.fstab, so the toplevel forces every mount's options, as
# in nixpkgs; without swap devices). Left out: the special filesystems'
# definitions, the early mount script, initrd fstab, systemd targets, tmpfiles.
{
  config,
  lib,
  pkgs,
  utils,
  ...
}@moduleArgs:
let
  inherit (lib)
    any
    attrValues
    concatMapStringsSep
    elem
    filter
    head
    literalExpression
    mkDefault
    mkEnableOption
    mkIf
    mkMerge
    mkOption
    optionalString
    toposort
    types
    ;
  inherit (utils) fsBefore;

  # https://wiki.archlinux.org/index.php/fstab#Filepath_spaces
  escape = string: builtins.replaceStrings [ " " "\t" ] [ "\\040" "\\011" ] string;

  # A list of attrnames is coerced into an attrset of bools by
  # setting the values to true.
  attrNamesToTrue = types.coercedTo (types.listOf types.str) (
    enabledList: lib.genAttrs enabledList (_attrName: true)
  ) (types.attrsOf types.bool);

  addCheckDesc =
    desc: elemType: check:
    types.addCheck elemType check // { description = "${elemType.description} (with check: ${desc})"; };

  isNonEmpty = s: (builtins.match "[ \t\n]*" s) == null;
  nonEmptyStr = addCheckDesc "non-empty" types.str isNonEmpty;

  fileSystems' = toposort fsBefore (attrValues config.fileSystems);

  fileSystems =
    if fileSystems' ? result then
      # use topologically sorted fileSystems everywhere
      fileSystems'.result
    else
      # the assertion below will catch this,
      # but we fall back to the original order
      # anyway so that other modules could check
      # their assertions too
      (attrValues config.fileSystems);

  specialFSTypes = [
    "proc"
    "sysfs"
    "tmpfs"
    "ramfs"
    "devtmpfs"
    "devpts"
  ];

  nonEmptyWithoutTrailingSlash = addCheckDesc "non-empty without trailing slash" types.str (
    s: isNonEmpty s && (builtins.match ".+/" s) == null
  );

  coreFileSystemOpts =
    { name, config, ... }:
    {
      options = {
        enable = mkEnableOption "the filesystem mount" // {
          default = true;
        };

        mountPoint = mkOption {
          example = "/mnt/usb";
          type = nonEmptyWithoutTrailingSlash;
          default = name;
          description = "Location where the file system will be mounted.";
        };

        stratis.poolUuid = mkOption {
          type = types.uniq (types.nullOr types.str);
          description = "UUID of the stratis pool that the fs is located in";
          example = "04c68063-90a5-4235-b9dd-6180098a20d9";
          default = null;
        };

        device = mkOption {
          default = null;
          example = "/dev/sda";
          type = types.nullOr nonEmptyStr;
          description = "The device as passed to `mount`.";
        };

        fsType = mkOption {
          default = "auto";
          example = "ext3";
          type = nonEmptyStr;
          description = "Type of the file system.";
        };

        options = mkOption {
          default = [ "defaults" ];
          example = [ "data=journal" ];
          description = "Options used to mount the file system.";
          type = types.nonEmptyListOf nonEmptyStr;
        };

        depends = mkOption {
          default = [ ];
          example = [ "/persist" ];
          type = types.listOf nonEmptyWithoutTrailingSlash;
          description = "List of paths that should be mounted before this one.";
        };
      };

      config = {
        device = mkIf (elem config.fsType specialFSTypes) (mkDefault config.fsType);
      };
    };

  fileSystemOpts =
    { config, ... }:
    {
      options = {
        label = mkOption {
          default = null;
          example = "root-partition";
          type = types.nullOr nonEmptyStr;
          description = "Label of the device.";
        };

        autoFormat = mkOption {
          default = false;
          type = types.bool;
          description = "If the device does not currently contain a filesystem, format it.";
        };

        formatOptions = mkOption {
          visible = false;
          type = types.unspecified;
          default = null;
        };

        autoResize = mkOption {
          default = false;
          type = types.bool;
          description = "If set, the filesystem is grown to its maximum size before being mounted.";
        };

        noCheck = mkOption {
          default = false;
          type = types.bool;
          description = "Disable running fsck on this filesystem.";
        };
      };

      config.device = mkIf (config.label != null) (mkDefault "/dev/disk/by-label/${escape config.label}");

      config.options =
        let
          inInitrd = utils.fsNeededForBoot config;
        in
        mkMerge [
          (mkIf config.autoResize [ "x-systemd.growfs" ])
          (mkIf config.autoFormat [ "x-systemd.makefs" ])
          (mkIf (utils.fsNeededForBoot config) [ "x-initrd.mount" ])
          (mkIf
            # With scripted stage 1, depends is implemented by sorting 'config.system.build.fileSystems'
            (lib.length config.depends > 0 && (inInitrd -> moduleArgs.config.boot.initrd.systemd.enable))
            (map (x: "x-systemd.requires-mounts-for=${optionalString inInitrd "/sysroot"}${x}") config.depends)
          )
        ];
    };

  makeFstabEntries =
    let
      fsToSkipCheck = [
        "none"
        "auto"
        "overlay"
        "iso9660"
        "bindfs"
        "udf"
        "btrfs"
        "zfs"
        "tmpfs"
        "bcachefs"
        "nfs"
        "nfs4"
        "nilfs2"
        "vboxsf"
        "squashfs"
        "glusterfs"
        "apfs"
        "9p"
        "cifs"
        "prl_fs"
        "vmhgfs"
      ]
      ++ lib.optionals (!config.boot.initrd.checkJournalingFS) [
        "ext3"
        "ext4"
        "reiserfs"
        "xfs"
        "jfs"
        "f2fs"
      ];
      isBindMount = fs: builtins.elem "bind" fs.options;
      skipCheck =
        fs: fs.noCheck || fs.device == "none" || builtins.elem fs.fsType fsToSkipCheck || isBindMount fs;
    in
    fstabFileSystems:
    { }:
    lib.concatMapStrings (
      fs:
      (
        if fs.device != null then
          escape fs.device
        else
          throw "No device specified for mount point ‘${fs.mountPoint}’."
      )
      + " "
      + escape fs.mountPoint
      + " "
      + fs.fsType
      + " "
      + escape (builtins.concatStringsSep "," fs.options)
      + " 0 "
      + (
        if skipCheck fs then
          "0"
        else if fs.mountPoint == "/" then
          "1"
        else
          "2"
      )
      + "\n"
    ) fstabFileSystems;
in
{
  options = {
    fileSystems = mkOption {
      default = { };
      example = literalExpression ''
        {
          "/".device = "/dev/hda1";
          "/data" = {
            device = "/dev/hda2";
            fsType = "ext3";
            options = [ "data=journal" ];
          };
          "/bigdisk".label = "bigdisk";
        }
      '';
      type = types.attrsOf (
        types.submodule [
          coreFileSystemOpts
          fileSystemOpts
        ]
      );
      apply = lib.filterAttrs (_: fs: fs.enable);
      description = "The file systems to be mounted.";
    };

    system.fsPackages = mkOption {
      internal = true;
      default = [ ];
      description = "Packages supplying file system mounters and checkers.";
    };

    boot.supportedFilesystems = mkOption {
      default = { };
      example = literalExpression ''
        {
          btrfs = true;
          zfs = lib.mkForce false;
        }
      '';
      type = attrNamesToTrue;
      description = "Names of supported filesystem types, or an attribute set of file system types and their state.";
    };

    boot.specialFileSystems = mkOption {
      default = { };
      type = types.attrsOf (types.submodule coreFileSystemOpts);
      apply = lib.filterAttrs (_: fs: fs.enable);
      internal = true;
      description = "Special filesystems that are mounted very early during boot.";
    };

    boot.devSize = mkOption {
      default = "5%";
      example = "32m";
      type = types.str;
      description = "Size limit for the /dev tmpfs.";
    };

    boot.devShmSize = mkOption {
      default = "50%";
      example = "256m";
      type = types.str;
      description = "Size limit for the /dev/shm tmpfs.";
    };

    boot.runSize = mkOption {
      default = "25%";
      example = "256m";
      type = types.str;
      description = "Size limit for the /run tmpfs.";
    };
  };

  config = {
    assertions =
      let
        ls = sep: concatMapStringsSep sep (x: x.mountPoint);
        resizableFSes = [
          "ext3"
          "ext4"
          "btrfs"
          "xfs"
        ];
        notAutoResizable = fs: fs.autoResize && !(builtins.elem fs.fsType resizableFSes);
      in
      [
        {
          assertion = !(fileSystems' ? cycle);
          message = "The ‘fileSystems’ option can't be topologically sorted: mountpoint dependency path ${ls " -> " fileSystems'.cycle} loops to ${ls ", " fileSystems'.loops}";
        }
        {
          assertion = !(any notAutoResizable fileSystems);
          message =
            let
              fs = head (filter notAutoResizable fileSystems);
            in
            ''
              Mountpoint '${fs.mountPoint}': 'autoResize = true' is not supported for 'fsType = "${fs.fsType}"'
              ${optionalString (fs.fsType == "auto") "fsType has to be explicitly set and"}
              only the following support it: ${lib.concatStringsSep ", " resizableFSes}.
            '';
        }
        {
          assertion = !(any (fs: fs.formatOptions != null) fileSystems);
          message = ''
            'fileSystems.<name>.formatOptions' has been removed, since
            systemd-makefs does not support any way to provide formatting
            options.
          '';
        }
      ]
      ++ lib.map (fs: {
        assertion = fs.label != null -> fs.device == "/dev/disk/by-label/${escape fs.label}";
        message = ''
          The filesystem with mount point ${fs.mountPoint} has its label and device set to inconsistent values:
            label: ${toString fs.label}
            device: ${toString fs.device}
          'filesystems.<name>.label' and 'filesystems.<name>.device' are mutually exclusive. Please set only one.
        '';
      }) fileSystems;

    # Export for use in other modules
    system.build.fileSystems = fileSystems;

    boot.supportedFilesystems = map (fs: fs.fsType) fileSystems;

    # Add the mount helpers to the system path so that `mount' can find them.
    system.fsPackages = [ pkgs.dosfstools ];

    environment.systemPackages = config.system.fsPackages;

    # (Swap devices are not modelled by the fixture.)
    environment.etc.fstab.text = ''
      # This is a generated file.  Do not edit!
      #
      # To make changes, edit the fileSystems and swapDevices NixOS options
      # in your /etc/nixos/configuration.nix file.
      #
      # <file system> <mount point>   <type>  <options>       <dump>  <pass>

      # Filesystems.
      ${makeFstabEntries fileSystems { }}
    '';
  };
}
