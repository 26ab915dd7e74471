# A tiny stand-in NixOS system for the builds of tests/nix/packaging.nix and
# tests/nix/formats.nix: a kernel (file kernelFile), an initrd, a toplevel
# linking both, with an init.
{ runCommand, kernelFile }:
rec {
  kernel = runCommand "linux-6.0.0-test" { } ''
    mkdir $out
    printf 'not a kernel\n' > $out/${kernelFile}
  '';
  initrd = runCommand "initrd-linux-6.0.0-test" { } ''
    mkdir $out
    printf 'not an initrd\n' > $out/initrd
  '';
  toplevel = runCommand "nixos-system-test" { } ''
    mkdir $out
    ln -s ${kernel}/${kernelFile} $out/kernel
    ln -s ${initrd}/initrd $out/initrd
    printf '#!/bin/sh\necho stand-in init\n' > $out/init
    chmod +x $out/init
  '';
}
