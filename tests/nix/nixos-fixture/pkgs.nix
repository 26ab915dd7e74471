# ======================================================================
# TEST FIXTURE -- NOT NIXPKGS.
# The package set `pkgs` of the NixOS fixture (tests/nix/nixos-fixture):
# every package and builder result is a REAL `builtins.derivation` (so
# string context, drvPath and --option allow-import-from-derivation false
# behave as with nixpkgs), but none is ever meant to be built: the builder
# is "/fixture/not-built". Each result carries `fixture`, a record of how it
# was made (builder name and arguments).
#
# Overlays are applied as nixpkgs applies them (lib.fix over lib.extends,
# first overlay innermost), so nixos-apple-silicon's overlay
# (linux-asahi = final.callPackage ...; uboot-asahi = ...; mesa = if
# prev.mesa.version == ... ) runs against this set as it would against
# nixpkgs.
#
# Only what the project and nixos-apple-silicon use is here; any other
# pkgs.X is a plain "attribute 'X' missing" error: add it below.
# ======================================================================
{
  lib,
  # Elaborated (lib.systems.elaborate) platforms.
  hostPlatform,
  buildPlatform ? hostPlatform,
  overlays ? [ ],
  config ? { },
}:

let
  inherit (lib) isFunction;

  notBuilt = "/fixture/not-built";

  # A derivation that is never built. drvAttrs go into builtins.derivation
  # (they must be coercible to strings, as with nixpkgs' mkDerivation without
  # __structuredAttrs); record goes to `fixture`; passthru is added on top.
  fakeDerivation =
    {
      name,
      builder,
      record ? { },
      drvAttrs ? { },
      passthru ? { },
      system ? hostPlatform.system,
    }:
    let
      drv = builtins.derivation (
        drvAttrs
        // {
          inherit name system;
          builder = notBuilt;
          fixtureBuilder = builder;
        }
      );
    in
    drv
    // {
      fixture = {
        inherit builder;
      }
      // record;
    }
    // passthru;

  # stdenv.mkDerivation: attrs (or finalAttrs: attrs) -> derivation with the
  # attrs visible on the result (as nixpkgs), passthru on top, meta kept out of
  # the derivation, env merged into it, and overrideAttrs.
  mkDerivationWith =
    builderName: stdenvName: attrsOrFn:
    let
      attrs = if isFunction attrsOrFn then lib.fix attrsOrFn else attrsOrFn;
      name =
        attrs.name or (
          if attrs ? pname && attrs ? version then
            "${attrs.pname}-${attrs.version}"
          else
            throw "nixos-fixture: ${stdenvName}.mkDerivation needs name or pname and version"
        );
      drvAttrs =
        removeAttrs attrs [
          "passthru"
          "meta"
          "env"
          "name"
        ]
        // (attrs.env or { });
      result = fakeDerivation {
        inherit name drvAttrs;
        builder = builderName;
        record = {
          inherit attrs;
          stdenv = stdenvName;
        };
        passthru = (attrs.passthru or { }) // {
          meta = attrs.meta or { };
          overrideAttrs =
            f:
            let
              r = f attrs;
              new = if isFunction r then r attrs else r;
            in
            mkDerivationWith builderName stdenvName (attrs // new);
        };
      };
    in
    result;

  mkStdenv = stdenvName: {
    mkDerivation = mkDerivationWith "${stdenvName}.mkDerivation" stdenvName;
    inherit hostPlatform buildPlatform;
    targetPlatform = hostPlatform;
    inherit (hostPlatform)
      isLinux
      isDarwin
      isAarch64
      isx86_64
      system
      ;
    shell = "${bashDrv}/bin/bash";
    fixture.builder = stdenvName;
  };

  # A plain package: name, version, passthru.
  package =
    pname: version: passthru:
    mkDerivationWith "package" "stdenv" {
      inherit pname version;
      inherit passthru;
      meta.mainProgram = passthru.mainProgram or pname;
    };

  bashDrv = package "bash" "5.3" { };

  # Linux kernels (pkgs/os-specific/linux/kernel/generic.nix via buildLinux):
  # overridable, with the passthru NixOS reads (version, modDirVersion,
  # features, kernelPatches, target, config).
  buildLinux = lib.makeOverridable (
    args@{
      version,
      pname ? "linux",
      modDirVersion ? version,
      kernelPatches ? [ ],
      features ? { },
      randstructSeed ? "",
      src ? null,
      ...
    }:
    let
      kernelFeatures = lib.foldr (x: y: (x.features or { }) // y) (
        {
          efiBootStub = true;
          netfilterRPFilter = true;
          ia32Emulation = true;
        }
        // features
      ) kernelPatches;
    in
    fakeDerivation {
      name = "${pname}-${version}";
      builder = "buildLinux";
      record = { inherit args; };
      drvAttrs = {
        inherit version modDirVersion randstructSeed;
        src = if src == null then "" else src;
        kernelPatchNames = map (p: p.name or "") kernelPatches;
        patches = map (p: p.patch) (lib.filter (p: (p.patch or null) != null) kernelPatches);
        structuredExtraConfig = builtins.toJSON (
          map (p: p.structuredExtraConfig or p.extraStructuredConfig or { }) kernelPatches
        );
      };
      passthru = {
        inherit
          pname
          version
          modDirVersion
          kernelPatches
          ;
        features = kernelFeatures;
        # The kernel image inside the package: "${kernel}/${target}".
        target = if hostPlatform.isAarch64 then "Image" else "bzImage";
        isModular = true;
        # Whether the kernel build installs device trees ($out/dtbs).
        buildDTBs = hostPlatform.isAarch64 || hostPlatform.isAarch32;
        # ${kernel}/dtbs/apple/*.dtb (only a string here: nothing is built).
        dtbs = "dtbs";
        config = {
          isYes = _: true;
          isNo = _: false;
          isModule = _: false;
          isEnabled = _: true;
          isDisabled = _: false;
        };
        meta.branch = args.extraMeta.branch or (lib.versions.majorMinor version);
      };
    }
  );

  # pkgs/top-level/linux-kernels.nix linuxPackagesFor: an extensible set.
  linuxPackagesFor =
    kernel:
    lib.makeExtensible (self: {
      inherit kernel;
      kernelOlder = lib.versionOlder kernel.version;
      kernelAtLeast = lib.versionAtLeast kernel.version;
      stdenv = final.stdenv;
      fixture.builder = "linuxPackagesFor";
    });

  base = final: {
    inherit lib config;
    inherit hostPlatform buildPlatform;
    targetPlatform = hostPlatform;
    system = hostPlatform.system;
    path = ./nixpkgs-path;
    # As nixpkgs: the set the NixOS module argument pkgs carries.
    overlays = overlays;
    appendOverlays =
      extra:
      import ./pkgs.nix {
        inherit
          lib
          hostPlatform
          buildPlatform
          config
          ;
        overlays = overlays ++ extra;
      };

    # Native builds only: the build platform's set is this set.
    buildPackages = final;
    pkgsBuildBuild = final;
    pkgsBuildHost = final;

    stdenv = mkStdenv "stdenv";
    stdenvNoCC = mkStdenv "stdenvNoCC";
    runtimeShell = "${final.bash}/bin/bash";

    # callPackage as lib.callPackageWith (auto arguments, .override,
    # "Function called without required argument" errors), recording the
    # function or path and the overrides under fixture.callPackage.
    callPackage =
      fn: args:
      let
        record =
          overrides: r:
          if builtins.isAttrs r then
            r
            // {
              fixture = (r.fixture or { }) // {
                callPackage = {
                  fn = if builtins.isFunction fn then "<function>" else fn;
                  inherit overrides;
                };
              };
            }
            // lib.optionalAttrs (r ? override) {
              override =
                newArgs:
                record (overrides // (if isFunction newArgs then newArgs overrides else newArgs)) (
                  r.override newArgs
                );
            }
          else
            r;
      in
      record args (lib.callPackageWith final fn args);

    # pkgs/build-support/trivial-builders
    runCommandWith =
      {
        name,
        stdenv ? final.stdenvNoCC,
        runLocal ? false,
        derivationArgs ? { },
      }:
      buildCommand:
      stdenv.mkDerivation (
        {
          inherit name buildCommand;
          passAsFile = [ "buildCommand" ] ++ (derivationArgs.passAsFile or [ ]);
        }
        // lib.optionalAttrs runLocal {
          preferLocalBuild = true;
          allowSubstitutes = false;
        }
        // removeAttrs derivationArgs [ "passAsFile" ]
      );
    runCommand =
      name: env: script:
      final.runCommandWith {
        inherit name;
        derivationArgs = env;
      } script
      // {
        fixture = {
          builder = "runCommand";
          inherit name env script;
        };
      }
      // (env.passthru or { });
    runCommandLocal =
      name: env: script:
      final.runCommandWith {
        inherit name;
        runLocal = true;
        derivationArgs = env;
      } script
      // {
        fixture = {
          builder = "runCommandLocal";
          inherit name env script;
        };
      }
      // (env.passthru or { });
    runCommandCC = final.runCommand;

    writeTextFile =
      args@{
        name,
        text,
        executable ? false,
        destination ? "",
        checkPhase ? "",
        meta ? { },
        passthru ? { },
        allowSubstitutes ? false,
        preferLocalBuild ? true,
        derivationArgs ? { },
      }:
      fakeDerivation {
        inherit name;
        builder = "writeTextFile";
        record = { inherit args; };
        drvAttrs = {
          inherit
            text
            executable
            destination
            checkPhase
            allowSubstitutes
            preferLocalBuild
            ;
          passAsFile = [ "text" ];
        }
        // derivationArgs;
        passthru = passthru // {
          inherit meta;
        };
      };
    writeText =
      name: text:
      final.writeTextFile { inherit name text; }
      // {
        fixture = {
          builder = "writeText";
          inherit name text;
        };
      };
    writeScript =
      name: text:
      final.writeTextFile {
        inherit name text;
        executable = true;
      }
      // {
        fixture = {
          builder = "writeScript";
          inherit name text;
        };
      };
    writeScriptBin =
      name: text:
      final.writeTextFile {
        inherit name text;
        executable = true;
        destination = "/bin/${name}";
        meta.mainProgram = name;
      };
    writeShellScript =
      name: text:
      final.writeTextFile {
        inherit name;
        executable = true;
        text = ''
          #!${final.runtimeShell}
          ${text}
        '';
      }
      // {
        fixture = {
          builder = "writeShellScript";
          inherit name text;
        };
      };
    writeShellScriptBin =
      name: text:
      final.writeTextFile {
        inherit name;
        executable = true;
        destination = "/bin/${name}";
        text = ''
          #!${final.runtimeShell}
          ${text}
        '';
        meta.mainProgram = name;
      };
    writeShellApplication =
      args@{
        name,
        text,
        runtimeInputs ? [ ],
        runtimeEnv ? null,
        meta ? { },
        passthru ? { },
        ...
      }:
      final.writeTextFile {
        inherit name passthru;
        executable = true;
        destination = "/bin/${name}";
        text = ''
          #!${final.runtimeShell}
          set -o errexit
          set -o nounset
          set -o pipefail
          export PATH="${lib.makeBinPath runtimeInputs}:$PATH"
          ${text}
        '';
        meta = {
          mainProgram = name;
        }
        // meta;
      }
      // {
        fixture = {
          builder = "writeShellApplication";
          inherit args;
        };
      };

    symlinkJoin =
      args@{
        name,
        paths,
        postBuild ? "",
        passthru ? { },
        ...
      }:
      fakeDerivation {
        inherit name passthru;
        builder = "symlinkJoin";
        record = { inherit args; };
        drvAttrs = {
          inherit paths postBuild;
        };
      };

    buildEnv =
      args@{
        name,
        paths,
        pathsToLink ? [ "/" ],
        ignoreCollisions ? false,
        extraOutputsToInstall ? [ ],
        postBuild ? "",
        passthru ? { },
        ...
      }:
      fakeDerivation {
        inherit name;
        builder = "buildEnv";
        record = { inherit args; };
        drvAttrs = {
          inherit
            paths
            pathsToLink
            ignoreCollisions
            extraOutputsToInstall
            postBuild
            ;
        };
        passthru = passthru // {
          inherit paths;
        };
      };

    # pkgs/build-support/closure-info.nix (exportReferencesGraph there).
    closureInfo =
      args@{ rootPaths }:
      fakeDerivation {
        name = "closure-info";
        builder = "closureInfo";
        record = { inherit args rootPaths; };
        drvAttrs = { inherit rootPaths; };
      };

    makeWrapper = fakeDerivation {
      name = "make-wrapper-hook";
      builder = "makeSetupHook";
    };
    makeSetupHook =
      args: script:
      fakeDerivation {
        name = args.name or "hook";
        builder = "makeSetupHook";
        record = { inherit args script; };
        drvAttrs.script = script;
      };

    rustPlatform.buildRustPackage =
      argsOrFn:
      let
        args = if isFunction argsOrFn then lib.fix argsOrFn else argsOrFn;
      in
      (mkDerivationWith "buildRustPackage" "stdenv" (
        removeAttrs args [
          "cargoLock"
          "cargoHash"
        ]
        // {
          cargoLockFile = args.cargoLock.lockFile or "";
          cargoHash = args.cargoHash or "";
        }
      ))
      // {
        fixture = {
          builder = "rustPlatform.buildRustPackage";
          inherit args;
        };
      };

    mkShell =
      args@{
        name ? "nix-shell",
        packages ? [ ],
        inputsFrom ? [ ],
        shellHook ? "",
        ...
      }:
      fakeDerivation {
        inherit name;
        builder = "mkShell";
        record = { inherit args; };
        drvAttrs = {
          nativeBuildInputs = packages;
          inherit inputsFrom shellHook;
        };
      };

    fetchFromGitHub =
      args@{
        owner,
        repo,
        rev ? null,
        tag ? null,
        hash ? "",
        ...
      }:
      fakeDerivation {
        name = "source";
        builder = "fetchFromGitHub";
        record = { inherit args; };
        drvAttrs = {
          url = "https://github.com/${owner}/${repo}/archive/${if tag != null then tag else rev}.tar.gz";
          inherit hash;
        };
      };
    fetchFromGitLab =
      args@{
        owner,
        repo,
        rev ? null,
        tag ? null,
        domain ? "gitlab.com",
        hash ? "",
        ...
      }:
      fakeDerivation {
        name = "source";
        builder = "fetchFromGitLab";
        record = { inherit args; };
        drvAttrs = {
          url = "https://${domain}/${owner}/${repo}/-/archive/${if tag != null then tag else rev}.tar.gz";
          inherit hash;
        };
      };

    # Kernels.
    inherit buildLinux linuxPackagesFor;
    linux_6_12 = buildLinux {
      version = "6.12.40";
      src = final.fetchFromGitHub {
        owner = "torvalds";
        repo = "linux";
        tag = "v6.12.40";
      };
    };
    linux_latest = buildLinux {
      version = "7.1.5";
      src = final.fetchFromGitHub {
        owner = "torvalds";
        repo = "linux";
        tag = "v7.1.5";
      };
    };
    linux = final.linux_6_12;
    linuxPackages = lib.recurseIntoAttrs (linuxPackagesFor final.linux_6_12);
    linuxPackages_latest = lib.recurseIntoAttrs (linuxPackagesFor final.linux_latest);
    aggregateModules =
      modules:
      fakeDerivation {
        name = "kernel-modules";
        builder = "aggregateModules";
        record = { inherit modules; };
        drvAttrs.paths = modules;
      };

    # pkgs/misc/uboot buildUBoot: a mkDerivation with makeFlags (the
    # nixos-apple-silicon package filters them in overrideAttrs).
    buildUBoot =
      args@{
        version ? null,
        defconfig,
        filesToInstall,
        extraConfig ? "",
        extraMakeFlags ? [ ],
        extraMeta ? { },
        ...
      }:
      final.stdenv.mkDerivation (
        removeAttrs args [
          "extraMeta"
          "extraMakeFlags"
        ]
        // {
          pname = "uboot-${defconfig}";
          version = if version == null then "fixture" else version;
          makeFlags = [
            "DTC=dtc"
            "CROSS_COMPILE=${hostPlatform.config}-"
          ]
          ++ extraMakeFlags;
          patches = [ ];
          meta = extraMeta;
        }
      );

    # Plain packages.
    bash = bashDrv;
    bashInteractive = bashDrv;
    e2fsprogs = package "e2fsprogs" "1.47.3" { };
    btrfs-progs = package "btrfs-progs" "6.17" { };
    util-linux = package "util-linux" "2.41.2" { };
    util-linuxMinimal = final.util-linux;
    dosfstools = package "dosfstools" "4.2" { };
    mtools = package "mtools" "4.0.49" { };
    gptfdisk = package "gptfdisk" "1.0.10" { };
    cpio = package "cpio" "2.15" { };
    shadow = package "shadow" "4.18.0" { shellPath = "/bin/nologin"; };
    coreutils = package "coreutils" "9.8" { };
    gnugrep = package "gnugrep" "3.12" { };
    gnused = package "gnused" "4.9" { };
    gawk = package "gawk" "5.3.2" { };
    hello = package "hello" "2.12.2" { };
    findutils = package "findutils" "4.10.0" { };
    git = package "git" "2.51.0" { };
    nix = package "nix" "2.31.2" { };
    nixos-init = package "nixos-init" "0.1.0" { };
    systemd = package "systemd" "258" {
      interfaceVersion = 2;
      # "${systemd}/lib/systemd/boot/efi/systemd-boot${efiArch}.efi"
      efiBootFile = "lib/systemd/boot/efi/systemd-boot${hostPlatform.efiArch or "aa64"}.efi";
    };
    # pkgs/by-name/m1/m1n1: overridable (customLogo, isRelease, withTools).
    m1n1 = final.callPackage (
      {
        stdenv,
        customLogo ? null,
        isRelease ? false,
        withTools ? true,
      }:
      stdenv.mkDerivation {
        pname = "m1n1";
        version = "1.5.2";
        customLogo = if customLogo == null then "" else customLogo;
        inherit isRelease withTools;
      }
    ) { };
    asahi-audio = package "asahi-audio" "3.4" { };
    alsa-ucm-conf-asahi = package "alsa-ucm-conf-asahi" "8" { };
    speakersafetyd = package "speakersafetyd" "1.1.2" { };
    # The version nixos-apple-silicon's overlay tests for, so its
    # overrideAttrs/fetchFromGitLab branch is what evaluates.
    mesa = package "mesa" "26.0.5" { };
    acl = package "acl" "2.3.2" { };
    p7zip = package "p7zip" "17.06" { };
    unzip = package "unzip" "6.0" { };
    zip = package "zip" "3.0" { };
    python3 = package "python3" "3.13.7" {
      withPackages = _: final.python3;
      mainProgram = "python3";
    };
    perl = package "perl" "5.40.0" { withPackages = _: final.perl; };
    nixfmt = package "nixfmt" "1.1.0" { };
    nixfmt-tree = package "nixfmt-tree" "1.1.0" { };
    cargo = package "cargo" "1.90.0" { };
    rustc = package "rustc" "1.90.0" { };
    clippy = package "clippy" "1.90.0" { };
    rustfmt = package "rustfmt" "1.90.0" { };
    iwd = package "iwd" "3.10" { };
    networkmanager = package "networkmanager" "1.54.1" { };
    pipewire = package "pipewire" "1.4.8" { };
    wireplumber = package "wireplumber" "0.5.11" { };
    pulseaudio = package "pulseaudio" "17.0" { };
    rtkit = package "rtkit" "0.13" { };
    linux-firmware = package "linux-firmware" "20250917" { };
    kmod = package "kmod" "34.2" { };
    qemu-utils = package "qemu-utils" "10.1.0" { };
    zstd = package "zstd" "1.5.7" { };
    # The Raspberry Pi firmware of the raspberry-pi template (sd-image-aarch64.nix).
    raspberrypifw = package "raspberrypi-firmware" "1.20250915" { };
    raspberrypi-armstubs = package "raspberrypi-armstubs" "2023-05-02" { };
    ubootRaspberryPi4_64bit = package "uboot-rpi_4_defconfig" "2025.10" { };
    # nixos/modules/system/boot/loader/generic-extlinux-compatible/extlinux-conf-builder.nix
    extlinux-conf-builder = package "extlinux-conf-builder.sh" "0" { };
  };

  final = lib.fix (lib.foldl' (lib.flip lib.extends) base overlays);
in
final
