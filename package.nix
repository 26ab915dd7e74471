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
  version = (import ./lib/pure.nix).crateVersion ./.;
  inherit src;
  cargoLock.lockFile = ./Cargo.lock;

  nativeBuildInputs = [ makeWrapper ];

  # The integration tests drive these; a missing one fails the test.
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
    ++ lib.optional stdenv.hostPlatform.isLinux util-linux;

  doCheck = true;

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
