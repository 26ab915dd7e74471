# Assertions on lib/helpers.nix (and the starter configuration, and how
# make-disk-image.nix takes a root staging). Evaluate with
#   nix-instantiate --eval --strict tests/nix/helpers-tests.nix
# It yields the list of test names when all pass and throws on the first
# failure. The expected volume ids were computed with `printf %s NAME | sha256sum`.
let
  helpers = import ../../lib/helpers;
  lib' = import ../../lib { };
  sd = builtins.storeDir;

  btrfs = {
    name = "nixos-asahi";
    version = "0.2.0";
    fs = "btrfs";
  };
  ext4 = {
    name = "nixos-asahi";
    version = "0.1.308";
    fs = "ext4";
  };

  layout = helpers.diskLayout {
    fs = "btrfs";
    seed = "s";
    espSource = "/esp";
    rootSource = "/root";
    volumeId = "0x12cea600";
  };
  layoutExt4 = helpers.diskLayout {
    fs = "ext4";
    seed = "s";
    espSource = "/esp";
    rootSource = "/root";
    volumeId = "0x12cea600";
    sectorSize = 512;
    espSize = "40MiB";
    rootUuid = "8d1ab6a3-5c5e-4f5a-9b7e-5f4c1d0e9a11";
  };

  starter = import ../../lib/starter-config.nix (btrfs // { stateVersion = "26.05"; });

  # This repository's own flake.lock stands in for the inputs' locks.
  inherit (import ./fixture-locks.nix { lastModified = 1785000000; })
    ownLock
    toolsRev
    locks
    ;
  starterLocked = import ../../lib/starter-config.nix (
    btrfs
    // {
      stateVersion = "26.05";
      inherit locks;
    }
  );
  starterLock = builtins.fromJSON starterLocked."flake.lock";
  contains = needle: hay: builtins.match ".*${needle}.*" (builtins.replaceStrings [ "\n" ] [ " " ] hay) != null;
  throws = e: !(builtins.tryEval e).success;

  # A stand-in for a nixosSystem result: records what extendModules got.
  fakeSystem = {
    extendModules =
      { modules }:
      {
        config.system.build = {
          asahiPackage = modules;
          asahiImage = modules;
        };
      };
  };
  wired = lib'.mkAsahiPackage {
    nixosConfiguration = fakeSystem;
    settings.version = "9.9.9";
  };

  # Just enough of nixpkgs' lib for the settings module of lib/default.nix.
  fakeLib = {
    inherit (builtins) mapAttrs;
    mkOverride = priority: content: {
      _type = "override";
      inherit priority content;
    };
  };

  # make-disk-image.nix with a runCommand that records its arguments: how
  # the image derivation takes a root staging (lib/stage-root.nix).
  mkDiskImage = import ../../lib/make-disk-image.nix {
    runCommand = name: env: script: { inherit name env script; };
    nixos-image-tools = "tools";
    e2fsprogs = "e2fsprogs";
    btrfs-progs = "btrfs-progs";
  };
  stagedLayout = helpers.diskLayout {
    fs = "ext4";
    seed = "s";
    espSource = "/esp";
    rootSource = "root";
    volumeId = "0x12cea600";
  };
  fakeStaging = {
    nativeBuildInputs = [ "staging-tools" ];
    env.rootFs = "ext4";
    passAsFile = [ "rootEtcFilesList" ];
    script = "stage-the-root\n";
  };
  stagedImage = mkDiskImage {
    layout = stagedLayout;
    stageRoot = fakeStaging;
  };
  unstagedImage = mkDiskImage { inherit layout; };
  # A staging, but the layout reads the root from elsewhere (/root).
  misplacedStaging = mkDiskImage {
    inherit layout;
    stageRoot = fakeStaging;
  };
  # Any text, across lines (builtins.match's "." stops at a newline).
  any = "(.|\n)*";

  tests = {
    stagedRootSourceIsRelative = {
      actual = (builtins.elemAt stagedLayout.partitions 1).content.source;
      expected = "root";
    };
    diskImageStagesRoot = {
      actual = {
        inherit (stagedImage.env) rootFs passAsFile nativeBuildInputs;
        # ./root is staged before mkimage reads the layout in the build directory.
        order =
          builtins.match "${any}rootDir=root\nstage-the-root\n${any}cp \"\\$layoutJSONPath\" layout.json\nmkimage --layout layout.json ${any}" stagedImage.script != null;
      };
      expected = {
        rootFs = "ext4";
        passAsFile = [
          "layoutJSON"
          "rootEtcFilesList"
        ];
        nativeBuildInputs = [
          "tools"
          "e2fsprogs"
          "btrfs-progs"
          "staging-tools"
        ];
        order = true;
      };
    };
    diskImageWithoutStaging = {
      actual = {
        stages = builtins.match "${any}rootDir=${any}" unstagedImage.script != null;
        inherit (unstagedImage.env) passAsFile;
        source = (builtins.elemAt (builtins.fromJSON unstagedImage.env.layoutJSON).partitions 1).content.source;
      };
      expected = {
        stages = false;
        passAsFile = [ "layoutJSON" ];
        source = "/root";
      };
    };
    diskImageStagingNeedsRootSource = {
      actual = throws misplacedStaging.env;
      expected = true;
    };
    mkAsahiPackageWiring = {
      actual = [
        (builtins.elemAt wired 0 == ../../modules/nixos-asahi-image.nix)
        (builtins.elemAt wired 1)
        ((builtins.elemAt wired 2) { lib = fakeLib; })
      ];
      expected = [
        true
        { nixosAsahi.enable = true; }
        # Priority 90: wins over the configuration's own plain definitions.
        {
          nixosAsahi.version = {
            _type = "override";
            priority = 90;
            content = "9.9.9";
          };
        }
      ];
    };
    baseName = {
      actual = helpers.packageBaseName btrfs;
      expected = "nixos-asahi-0.2.0-btrfs";
    };
    zipName = {
      actual = helpers.zipName ext4;
      expected = "nixos-asahi-0.1.308-ext4.zip";
    };
    installerDataName = {
      actual = helpers.installerDataName btrfs;
      expected = "installer_data-0.2.0-btrfs.json";
    };
    volumeIdBtrfs = {
      actual = helpers.volumeId btrfs;
      expected = "0x22196870";
    };
    volumeIdExt4 = {
      actual = helpers.volumeId ext4;
      expected = "0xf45e1435";
    };
    espUuidBtrfs = {
      actual = helpers.espUuid btrfs;
      expected = "2219-6870";
    };
    espUuidExt4 = {
      actual = helpers.espUuid ext4;
      expected = "F45E-1435";
    };
    espUuidOfSpec = {
      actual = helpers.espUuidOf "0x12cea600";
      expected = "12CE-A600";
    };
    espUuidRejectsUpper = {
      actual = throws (helpers.espUuidOf "0x12CEA600");
      expected = true;
    };
    badFsRejected = {
      actual = throws (helpers.zipName (btrfs // { fs = "xfs"; }));
      expected = true;
    };
    layoutJSONBtrfs = {
      actual = builtins.fromJSON (helpers.diskLayoutJSON {
        fs = "btrfs";
        seed = "s";
        espSource = "/esp";
        rootSource = "/root";
        volumeId = "0x12cea600";
      });
      expected = {
        table = "gpt";
        sectorSize = 4096;
        seed = "s";
        size = "auto";
        partitions = [
          {
            name = "ESP";
            type = "esp";
            size = "512MiB";
            content = {
              fs = "vfat";
              source = "/esp";
              label = "ESP";
              volumeId = "0x12cea600";
            };
          }
          {
            name = "nixos";
            type = "linux";
            size = "auto";
            content = {
              fs = "btrfs";
              source = "/root";
              label = "nixos";
              subvolumes = [
                {
                  path = "@";
                  source = "@";
                }
                {
                  path = "@home";
                  source = "@home";
                }
                {
                  path = "@nix";
                  source = "@nix";
                }
              ];
            };
          }
        ];
      };
    };
    layoutBtrfsEqualsAttrs = {
      actual = builtins.fromJSON (builtins.toJSON layout) == layout;
      expected = true;
    };
    layoutExt4Root = {
      actual = builtins.elemAt layoutExt4.partitions 1;
      expected = {
        name = "nixos";
        type = "linux";
        size = "auto";
        content = {
          fs = "ext4";
          source = "/root";
          label = "nixos";
          uuid = "8d1ab6a3-5c5e-4f5a-9b7e-5f4c1d0e9a11";
        };
      };
    };
    layoutExt4Sector = {
      actual = [
        layoutExt4.sectorSize
        (builtins.head layoutExt4.partitions).size
      ];
      expected = [
        512
        "40MiB"
      ];
    };
    entryArgs = {
      actual = helpers.installerEntryArgs (
        btrfs
        // {
          manifest = "m.json";
          output = "e.json";
          packageUrlBase = "https://example.org/os";
          displayName = "NixOS (test)";
        }
      );
      expected = [
        "entry"
        "--manifest"
        "m.json"
        "--name"
        "nixos-asahi"
        "--version"
        "0.2.0"
        "--fs"
        "btrfs"
        "--package-url"
        "https://example.org/os/nixos-asahi-0.2.0-btrfs.zip"
        "--volume-id"
        "0x22196870"
        "--display-name"
        "NixOS (test)"
        "--output"
        "e.json"
      ];
    };
    entryArgsBareName = {
      actual = builtins.elemAt (helpers.installerEntryArgs (
        ext4
        // {
          manifest = "m";
          output = "o";
        }
      )) 10;
      expected = "nixos-asahi-0.1.308-ext4.zip";
    };
    efiFileNameKernel = {
      actual = helpers.efiFileName "${sd}/abc-linux-6.8/Image";
      expected = "EFI/nixos/abc-linux-6.8-Image.efi";
    };
    efiFileNameInitrd = {
      actual = helpers.efiFileName "${sd}/xyz-initrd-linux-6.8/initrd";
      expected = "EFI/nixos/xyz-initrd-linux-6.8-initrd.efi";
    };
    efiFileNameTopLevelFile = {
      actual = helpers.efiFileName "${sd}/abc-Image";
      expected = "EFI/nixos/abc-Image.efi";
    };
    loaderConfDefault = {
      actual = helpers.loaderConf { };
      expected = "timeout 5\ndefault nixos-generation-1.conf\nconsole-mode keep\n";
    };
    loaderConfNoEditor = {
      actual = helpers.loaderConf {
        timeout = null;
        editor = false;
        consoleMode = "max";
      };
      expected = "timeout menu-force\ndefault nixos-generation-1.conf\neditor 0\nconsole-mode max\n";
    };
    bootLabel = {
      actual = helpers.bootLabel {
        distroName = "NixOS";
        codeName = "Yarara";
        label = "26.05.20260723.e2587ca";
        kernelModDirVersion = "6.18.10-asahi";
      };
      expected = "NixOS Yarara 26.05.20260723.e2587ca (Linux 6.18.10-asahi)";
    };
    shellEscape = {
      actual = helpers.shellEscape "it's";
      expected = "'it'\\''s'";
    };
    crateVersion = {
      actual = builtins.match "[0-9]+\\.[0-9]+\\.[0-9]+" (helpers.crateVersion ../..) != null;
      expected = true;
    };
    starterFiles = {
      actual = builtins.attrNames starter;
      expected = [
        "configuration.nix"
        "flake.nix"
      ];
    };
    starterPinsIdentity = {
      actual = map (s: contains s starter."configuration.nix") [
        ''name = "nixos-asahi";''
        ''version = "0.2.0";''
        ''fsType = "btrfs";''
        ''stateVersion = "26.05";''
      ];
      expected = [
        true
        true
        true
        true
      ];
    };
    starterImportsModule = {
      actual = contains "nixos-image-tools.nixosModules.default" starter."flake.nix";
      expected = true;
    };
    starterNoPasswordHash = {
      actual = map (s: contains s (starter."configuration.nix" + starter."flake.nix")) [
        "hashedPassword"
        "initialPassword"
        "\\$6\\$"
        "\\$y\\$"
      ];
      expected = [
        false
        false
        false
        false
      ];
    };
    githubOriginal = {
      actual = map helpers.githubOriginal [
        "github:NixOS/nixpkgs/nixos-unstable"
        "github:nix-community/nixos-image-tools"
        "git+https://example.org/x"
      ];
      expected = [
        {
          type = "github";
          owner = "NixOS";
          repo = "nixpkgs";
          ref = "nixos-unstable";
        }
        {
          type = "github";
          owner = "nix-community";
          repo = "nixos-image-tools";
        }
        null
      ];
    };
    inputLockOfInput = {
      actual =
        let
          l = helpers.inputLock {
            rev = toolsRev;
            narHash = "sha256-x";
            lastModified = 1;
            outPath = toString ../..;
          };
        in
        [
          l.rev
          l.lastModified
          (l.flakeLock == ownLock)
          (helpers.inputLock {
            narHash = "sha256-x";
            outPath = toString ../..;
          })
        ];
      expected = [
        toolsRev
        1
        true
        null
      ];
    };
    starterNoLockWithoutPins = {
      actual = starter ? "flake.lock";
      expected = false;
    };
    starterLockFiles = {
      actual = builtins.attrNames starterLocked;
      expected = [
        "configuration.nix"
        "flake.lock"
        "flake.nix"
      ];
    };
    # Every input the flake declares is locked, follows as in flake.nix,
    # original as its URL (else Nix would re-lock it).
    starterLockShape = {
      actual = {
        inherit (starterLock) root version;
        nodeNames = builtins.attrNames starterLock.nodes;
        rootInputs = starterLock.nodes.root.inputs;
        appleSiliconInputs = starterLock.nodes.nixos-apple-silicon.inputs;
        toolsInputs = starterLock.nodes.nixos-image-tools.inputs;
        nixpkgsOriginal = starterLock.nodes.nixpkgs.original;
        nixpkgsLocked = starterLock.nodes.nixpkgs.locked;
        toolsLocked = starterLock.nodes.nixos-image-tools.locked;
        flakeCompat = starterLock.nodes.flake-compat == ownLock.nodes.flake-compat;
      };
      expected = {
        root = "root";
        version = 7;
        nodeNames = [
          "flake-compat"
          "nixos-apple-silicon"
          "nixos-image-tools"
          "nixpkgs"
          "root"
        ];
        rootInputs = {
          nixpkgs = "nixpkgs";
          nixos-apple-silicon = "nixos-apple-silicon";
          nixos-image-tools = "nixos-image-tools";
        };
        appleSiliconInputs = {
          flake-compat = "flake-compat";
          nixpkgs = [ "nixpkgs" ];
        };
        toolsInputs = {
          nixpkgs = [ "nixpkgs" ];
          nixos-apple-silicon = [ "nixos-apple-silicon" ];
        };
        nixpkgsOriginal = ownLock.nodes.nixpkgs.original;
        nixpkgsLocked = ownLock.nodes.nixpkgs.locked;
        toolsLocked = {
          type = "github";
          owner = "nix-community";
          repo = "nixos-image-tools";
          rev = toolsRev;
          narHash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
          lastModified = 1785000000;
        };
        flakeCompat = true;
      };
    };
    starterFlakeDeclaresLockedInputs = {
      actual = map (s: contains s starterLocked."flake.nix") [
        ''nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";''
        ''nixos-apple-silicon.inputs.nixpkgs.follows = "nixpkgs";''
        ''nixos-image-tools.inputs.nixos-apple-silicon.follows = "nixos-apple-silicon";''
      ];
      expected = [
        true
        true
        true
      ];
    };
    # Unpinned inputs and non-GitHub URLs are left for Nix to lock.
    flakeLockForSkips = {
      actual =
        (helpers.flakeLockFor [
          {
            name = "a";
            url = "github:o/a";
            lock = null;
          }
          {
            name = "b";
            url = "git+https://example.org/b";
            lock = {
              rev = toolsRev;
              narHash = "sha256-x";
            };
          }
        ]).nodes;
      expected = {
        root.inputs = { };
      };
    };
    libExposesBuilders = {
      actual = builtins.all (n: lib'.${n} or null != null) [
        "withPkgs"
        "mkAsahiPackage"
        "mkAsahiImage"
        "volumeId"
        "diskLayout"
      ];
      expected = true;
    };
  };

  check =
    name:
    let
      t = tests.${name};
    in
    if t.actual == t.expected then
      name
    else
      throw "helpers test ${name} FAILED: expected ${builtins.toJSON t.expected}, got ${builtins.toJSON t.actual}";
in
map check (builtins.attrNames tests)
