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

  # Like nixpkgs' closureInfo: $out/store-paths and $out/registration (the
  # nix-store --load-db input) for the closure of rootPaths.
  closureInfo =
    { rootPaths }:
    runCommand "closure-info"
      {
        exportReferencesGraph = builtins.concatLists (
          builtins.genList (i: [
            "graph${toString i}"
            (builtins.elemAt rootPaths i)
          ]) (builtins.length rootPaths)
        );
      }
      ''
        mkdir -p "$out"
        # exportReferencesGraph files: path, deriver, count, references...
        cat graph* | awk '
          state == 0 { print; state = 1; next }
          state == 1 { state = 2; next }
          state == 2 { n = $1; state = (n > 0) ? 3 : 0; next }
          state == 3 { if (--n == 0) state = 0; next }
        ' | sort -u > "$out/store-paths"
        # shellcheck disable=SC2046
        nix-store --dump-db $(cat "$out/store-paths") > "$out/registration"
      '';

  pkgs = {
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
    python3 = runCommand "python3-host" { } "mkdir -p $out/bin";
  };
in
pkgs
