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
}
