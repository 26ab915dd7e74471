# ======================================================================
# TEST FIXTURE -- NOT NIXPKGS.
# A tiny stand-in for the few nixpkgs builders that lib/ uses (runCommand,
# writeText, closureInfo, callPackage), made of builtins.derivation, host
# tools (/usr/bin) and freshly built nixos-image-tools binaries. It lets
# tests/nix/run.sh build the real lib/ derivations with Debian's Nix on a
# machine that has no nixpkgs. Nothing outside tests/ may import it.
# ======================================================================
{
  # Directory holding mkimage, carve-partitions, gen-installer-data,
  # deterministic-copy (e.g. target/release). Used in place, not copied.
  toolsBin,
  # Changes whenever the binaries change, so dependent derivations rebuild.
  toolsStamp ? "",
  # Extra host directories for PATH (e.g. newer e2fsprogs/btrfs-progs).
  extraPath ? "",
  system ? builtins.currentSystem,
}:

let
  hostPath = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";

  removeAttrs' = builtins.removeAttrs;

  runCommand =
    name: env: script:
    let
      inputs = env.nativeBuildInputs or [ ] ++ env.buildInputs or [ ];
      drv = builtins.derivation (
        removeAttrs' env [
          "passthru"
          "nativeBuildInputs"
          "buildInputs"
          "passAsFile"
        ]
        // {
          inherit name system;
          builder = "/bin/bash";
          args = [
            "-e"
            "-c"
            ". \"$buildCommandPath\""
          ];
          buildCommand = script;
          passAsFile = (env.passAsFile or [ ]) ++ [ "buildCommand" ];
          PATH = builtins.concatStringsSep ":" (
            map (p: "${p}/bin") inputs ++ (if extraPath == "" then [ ] else [ extraPath ]) ++ [ hostPath ]
          );
        }
      );
    in
    drv // (env.passthru or { });

  writeText =
    name: text:
    runCommand name {
      inherit text;
      passAsFile = [ "text" ];
    } ''cp "$textPath" "$out"'';

  # Host directory exposed as a package with a bin/ of symlinks.
  hostPackage =
    name: dir: files:
    runCommand name { inherit toolsStamp; } ''
      mkdir -p "$out/bin"
      for f in ${builtins.concatStringsSep " " files}; do
        if [ ! -x "${dir}/$f" ]; then
          echo "stand-in: ${dir}/$f is missing: build it first (see tests/nix/run.sh)" >&2
          exit 1
        fi
        ln -s "${dir}/$f" "$out/bin/$f"
      done
    '';

  # Like nixpkgs' closureInfo (structured attrs give narHash/narSize):
  # $out/store-paths and $out/registration, the nix-store --load-db input.
  closureInfo =
    { rootPaths }:
    builtins.derivation {
      name = "closure-info";
      inherit system;
      __structuredAttrs = true;
      exportReferencesGraph.closure = rootPaths;
      PATH = hostPath;
      builder = "/bin/bash";
      args = [
        "-c"
        ''
          set -e
          . .attrs.sh
          out=''${outputs[out]}
          mkdir -p "$out"
          python3 - "$out" <<'PY'
          import json, sys
          out = sys.argv[1]
          closure = sorted(json.load(open(".attrs.json"))["closure"], key=lambda c: c["path"])
          with open(out + "/store-paths", "w") as f:
              f.writelines(c["path"] + "\n" for c in closure)
          with open(out + "/registration", "w") as f:
              for c in closure:
                  refs = sorted(c["references"])
                  f.writelines(x + "\n" for x in [c["path"], c["narHash"], str(c["narSize"]), "", str(len(refs))] + refs)
          PY
        ''
      ];
    };

  pkgs = {
    # Native builds only.
    buildPackages = pkgs;
    inherit
      runCommand
      writeText
      closureInfo
      system
      ;
    callPackage =
      f: overrides:
      let
        fn = if builtins.isFunction f then f else import f;
      in
      fn (builtins.intersectAttrs (builtins.functionArgs fn) pkgs // overrides);

    nixos-image-tools = hostPackage "nixos-image-tools-stand-in" toolsBin [
      "mkimage"
      "carve-partitions"
      "gen-installer-data"
      "deterministic-copy"
    ];
    # Host tools are on every builder's PATH already.
    e2fsprogs = runCommand "e2fsprogs-host" { } "mkdir -p $out/bin";
    btrfs-progs = runCommand "btrfs-progs-host" { } "mkdir -p $out/bin";
    unzip = runCommand "unzip-host" { } "mkdir -p $out/bin";
    qemu-utils = runCommand "qemu-utils-host" { } "mkdir -p $out/bin";
    zstd = runCommand "zstd-host" { } "mkdir -p $out/bin; ln -s /usr/bin/zstd $out/bin/zstd";
    stdenv.hostPlatform.efiArch = "x64";
    python3 = runCommand "python3-host" { } "mkdir -p $out/bin";
  };
in
pkgs
