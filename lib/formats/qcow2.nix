# qcow2: the raw-efi disk converted by qemu-img. Reproducible: qemu-img
# writes no timestamps, and compression (zlib) is deterministic.
{
  # builtins only (tests/boot/run.sh evaluates it with nix-instantiate):
  # qemu-img's arguments before the input and output file names.
  convertArgs =
    {
      compress ? false,
    }:
    [
      "convert"
      "-f"
      "raw"
      "-O"
      "qcow2"
    ]
    ++ (if compress then [ "-c" ] else [ ]);

  base = "raw-efi";

  module = { ... }: { };

  build =
    {
      config,
      pkgs,
      common,
      base,
      ...
    }:
    let
      args = (import ./qcow2.nix).convertArgs { inherit (config.nixosImage) compress; };
    in
    pkgs.buildPackages.runCommand "${common.baseName}-qcow2"
      {
        nativeBuildInputs = [ pkgs.buildPackages.qemu-utils ];
        passthru.image = base;
      }
      ''
        mkdir "$out"
        qemu-img ${builtins.concatStringsSep " " args} ${base}/disk.img "$out/disk.qcow2"
        cp ${base}/report.json ${base}/layout.json "$out/"
      '';
}
