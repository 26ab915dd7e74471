# Pure helpers: naming, the ESP volume id, the mkimage layout and the
# gen-installer-data arguments. They use only `builtins`, so `nix eval` can
# test them on a machine without nixpkgs (tests/nix/pure-tests.nix), and the
# Rust side derives the same values (gen-installer-data --volume-id).
let
  inherit (builtins)
    concatStringsSep
    hashString
    replaceStrings
    substring
    stringLength
    match
    elem
    elemAt
    baseNameOf
    toJSON
    attrNames
    filter
    concatMap
    listToAttrs
    mapAttrs
    isString
    removeAttrs
    ;

  toUpperHex = replaceStrings [ "a" "b" "c" "d" "e" "f" ] [ "A" "B" "C" "D" "E" "F" ];

  fsTypes = [
    "btrfs"
    "ext4"
  ];

  checkFs =
    fs: if elem fs fsTypes then fs else throw "nixos-image-tools: fsType must be btrfs or ext4, not ${fs}";
in
rec {
  inherit fsTypes;

  # 1980-01-01T00:00:00Z, the earliest time FAT and zip can store: the
  # default timestamp of everything in an image.
  dosEpoch = 315532800;

  # Present in the image until first boot has finished (modules/first-boot.nix).
  firstBootMarker = "/var/lib/nixos-asahi/first-boot";

  # The firmware versions the Asahi installer knows (its supported_fw
  # values; gen-installer-data refuses others).
  installerFirmware = [
    "12.3"
    "12.3.1"
    "13.5"
    "14.8.3"
  ];

  # "nixos-asahi-0.2.0-btrfs": names the zip, seeds identifiers, derives the volume id.
  packageBaseName =
    {
      name,
      version,
      fs,
    }:
    "${name}-${version}-${checkFs fs}";

  zipName = args: "${packageBaseName args}.zip";

  installerDataName = { version, fs, ... }: "installer_data-${version}-${checkFs fs}.json";

  # The FAT serial of the ESP the installer formats: per build, never a constant.
  volumeId = args: "0x" + substring 0 8 (hashString "sha256" (packageBaseName args));

  # "0x12cea600" -> "12CE-A600", as /dev/disk/by-uuid names a FAT volume.
  espUuidOf =
    vid:
    let
      hex = if match "0x[0-9a-f]{8}" vid != null then substring 2 8 vid else throw "nixos-image-tools: volume id ${vid} is not 0x followed by 8 lowercase hex digits";
    in
    toUpperHex (substring 0 4 hex) + "-" + toUpperHex (substring 4 4 hex);

  espUuid = args: espUuidOf (volumeId args);

  rootLabel = "nixos";

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

  # Arguments of `gen-installer-data entry`, in order.
  installerEntryArgs =
    {
      name,
      version,
      fs,
      manifest,
      output,
      packageUrlBase ? null,
      displayName ? null,
      defaultOsName ? null,
      supportedFirmware ? null,
      icon ? null,
    }:
    let
      zip = zipName { inherit name version fs; };
      opt = flag: v: if v == null then [ ] else [ flag v ];
      url = if packageUrlBase == null then zip else "${packageUrlBase}/${zip}";
    in
    [
      "entry"
      "--manifest"
      manifest
      "--name"
      name
      "--version"
      version
      "--fs"
      (checkFs fs)
      "--package-url"
      url
      "--volume-id"
      (volumeId { inherit name version fs; })
    ]
    ++ opt "--display-name" displayName
    ++ opt "--default-os-name" defaultOsName
    ++ opt "--supported-fw" (if supportedFirmware == null then null else concatStringsSep "," supportedFirmware)
    ++ opt "--icon" icon
    ++ [
      "--output"
      output
    ];

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

  # POSIX shell quoting, so the builders need no nixpkgs lib.
  shellEscape = s: "'" + replaceStrings [ "'" ] [ "'\\''" ] s + "'";

  # "name=path" lines for attrsets of files (extra ESP files), sorted by name.
  fileListText = files: concatStringsSep "" (map (n: "${n}\t${files.${n}}\n") (attrNames files));

  # "github:owner/repo[/ref]" -> the flake.lock "original" of that input
  # ({ type, owner, repo, ref? }); null for any other URL form.
  githubOriginal =
    url:
    let
      m = match "github:([^/?#]+)/([^/?#]+)(/([^?#]+))?" url;
    in
    if m == null then
      null
    else
      {
        type = "github";
        owner = elemAt m 0;
        repo = elemAt m 1;
      }
      // (if elemAt m 3 == null then { } else { ref = elemAt m 3; });

  # What pins a flake input (or a flake's `self`): its rev, narHash and
  # lastModified, plus its own flake.lock (for the inputs of its own that are
  # not followed). null when it has no rev (a dirty tree, a path: input).
  inputLock =
    input:
    if input ? rev && input ? narHash then
      let
        lockFile = "${input.outPath}/flake.lock";
      in
      {
        inherit (input) rev narHash;
      }
      // (if input ? lastModified then { inherit (input) lastModified; } else { })
      // (
        if builtins.pathExists lockFile then
          { flakeLock = builtins.fromJSON (builtins.readFile lockFile); }
        else
          { }
      )
    else
      null;

  # A flake.lock (version 7, as attrs) for a flake whose inputs are
  #   [ { name; url; follows ? { <its input> = "<root input>"; }; lock ? null; } ]
  # (lock: inputLock of what it should be pinned to). Inputs without a lock
  # or with a URL other than github:owner/repo[/ref] are left out, and Nix
  # locks them on first use. An input's own inputs that are not followed are
  # copied from its flake.lock when they have no inputs themselves.
  flakeLockFor =
    inputs:
    let
      pinned = filter (i: (i.lock or null) != null && githubOriginal i.url != null) inputs;
      names = map (i: i.name) pinned;
      subKey = i: n: if elem n names then "${i.name}_${n}" else n;
      # [ { name = "<its input>"; key = "<node key>"; node = { ... }; } ]
      subInputs =
        i:
        let
          fl = i.lock.flakeLock or null;
          rootInputs = if fl == null then { } else fl.nodes.${fl.root}.inputs or { };
        in
        concatMap (
          n:
          let
            ref = rootInputs.${n};
          in
          if (i.follows or { }) ? ${n} || !(isString ref) || fl.nodes.${ref} ? inputs then
            [ ]
          else
            [
              {
                name = n;
                key = subKey i n;
                node = removeAttrs fl.nodes.${ref} [ "inputs" ];
              }
            ]
        ) (attrNames rootInputs);
      nodeOf =
        i:
        let
          original = githubOriginal i.url;
          inputsOf =
            mapAttrs (_: target: [ target ]) (i.follows or { })
            // listToAttrs (
              map (s: {
                inherit (s) name;
                value = s.key;
              }) (subInputs i)
            );
        in
        {
          inherit original;
          locked =
            removeAttrs original [ "ref" ]
            // {
              inherit (i.lock) rev narHash;
            }
            // (if i.lock ? lastModified then { inherit (i.lock) lastModified; } else { });
        }
        // (if inputsOf == { } then { } else { inputs = inputsOf; });
    in
    {
      nodes =
        listToAttrs (
          map (i: {
            inherit (i) name;
            value = nodeOf i;
          }) pinned
        )
        // listToAttrs (
          concatMap (
            i:
            map (s: {
              name = s.key;
              value = s.node;
            }) (subInputs i)
          ) pinned
        )
        // {
          root.inputs = listToAttrs (
            map (n: {
              name = n;
              value = n;
            }) names
          );
        };
      root = "root";
      version = 7;
    };

  # The Cargo.toml version, so the image version follows releases.
  crateVersion = src: (builtins.fromTOML (builtins.readFile (src + "/Cargo.toml"))).package.version;
}
