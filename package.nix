# nixos-image-tools, built from this repository's Cargo.lock with nixpkgs'
# Rust tooling; `cargo test` runs in checkPhase against the real tools.
{
  lib,
  stdenv,
  rustPlatform,
  makeWrapper,
  e2fsprogs,
  btrfs-progs,
  dosfstools,
  mtools,
  gptfdisk,
  util-linux,
  acl,
  p7zip,
  unzip,
  zip,
  python3,
}:

let
  src = lib.fileset.toSource {
    root = ./.;
    fileset = lib.fileset.unions [
      ./Cargo.toml
      ./Cargo.lock
      ./src
      (lib.fileset.maybeMissing ./tests)
    ];
  };
  # Executables mkimage runs (mke2fs -d, mkfs.btrfs --rootdir).
  runtimeTools = [ e2fsprogs ] ++ lib.optional stdenv.hostPlatform.isLinux btrfs-progs;
in
rustPlatform.buildRustPackage {
  pname = "nixos-image-tools";
  version = (import ./lib/helpers).crateVersion ./.;
  inherit src;
  cargoLock.lockFile = ./Cargo.lock;

  nativeBuildInputs = [ makeWrapper ];

  # The integration tests drive these; a missing one fails the test (in
  # tests/carve_partitions.rs it skips the tests that run it, saying so).
  nativeCheckInputs =
    runtimeTools
    ++ [
      dosfstools
      mtools
      gptfdisk
      p7zip
      unzip
      zip
      python3
    ]
    ++ lib.optionals stdenv.hostPlatform.isLinux [
      util-linux
      acl
    ];

  doCheck = true;

  # tests/common/trixie.rs fetches Debian trixie's e2fsprogs/btrfs-progs with
  # apt outside Nix; in the build sandbox (no network, no apt, no tools/ in
  # the source) the tests take the tools on PATH instead: nixpkgs' versions
  # are new enough (btrfs-progs >= 6.12, e2fsprogs >= 1.47.1).
  env.NIT_TEST_TOOLS_FROM_PATH = "1";

  # What the sandbox cannot give the tests:
  # - error_old_btrfs_progs and old_e2fsprogs_warns drive Debian bookworm's
  #   /usr/sbin/mkfs.btrfs (6.2) and /usr/sbin/mke2fs (1.47.0) to check the
  #   refusal and the warning for old versions; there is no /usr/sbin here,
  #   so they skip themselves, saying why (test.sh makes that a failure).
  # Checked and left running:
  # - nonroot_builds_root_owned_image runs mkimage as the (non-root) build
  #   user, so it takes mkimage's user-namespace path; user namespaces work
  #   inside the Nix sandbox (nixpkgs' image.repart runs
  #   `unshare --map-root-user` in its build), and /tmp exists there.
  # - error_root_owner returns early when not root.
  # - tests/deterministic_copy.rs: the sandbox's seccomp filter refuses
  #   setuid/setgid bits (the test then sets the other bits) and xattrs (the
  #   xattr and ACL checks are skipped with a note). Its listings leave out
  #   directory sizes and link counts, which depend on the filesystem.
  # - On Darwin only the unit tests run: the integration tests drive Linux
  #   tools and are compiled for Linux only.
  # - tests/boot.rs is #[ignore]d (it boots QEMU machines).
  # - tests/serve.rs and tests/publish.rs (distribution_*) start moto's S3
  #   server from PyPI and drive curl; ./test.sh runs them.
  checkFlags = [ "--skip=distribution_" ];

  postInstall = ''
    wrapProgram $out/bin/mkimage --suffix PATH : ${lib.makeBinPath runtimeTools}
  '';

  meta = {
    description = "Build, carve and package NixOS disk images for the Asahi Linux installer, reproducibly and without a VM";
    homepage = "https://github.com/nix-community/nixos-image-tools";
    license = lib.licenses.mit;
    mainProgram = "mkimage";
    platforms = lib.platforms.linux ++ lib.platforms.darwin;
  };
}
