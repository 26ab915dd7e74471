{
  description = "My NixOS server as a raw EFI disk and a qcow2 VM disk, built without a VM";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    nixos-image-tools.url = "github:nix-community/nixos-image-tools";
    nixos-image-tools.inputs.nixpkgs.follows = "nixpkgs";
  };

  outputs =
    {
      self,
      nixpkgs,
      nixos-image-tools,
    }:
    {
      nixosConfigurations.server = nixpkgs.lib.nixosSystem {
        modules = [
          # nixosImage.* options; lib.mkImage below picks the format.
          nixos-image-tools.nixosModules.image
          ./configuration.nix
          # The disk's /etc/nixos is this flake (commit flake.lock).
          { nixosImage.etcNixosSource = self.outPath; }
        ];
      };

      # nix build .#server: result/disk.img, to dd onto a disk (or upload);
      # it grows to the disk on first boot.
      packages.x86_64-linux.server = nixos-image-tools.lib.mkImage {
        nixosConfiguration = self.nixosConfigurations.server;
        format = "raw-efi";
      };
      # nix build .#server-qcow2: result/disk.qcow2 for QEMU/libvirt.
      packages.x86_64-linux.server-qcow2 = nixos-image-tools.lib.mkImage {
        nixosConfiguration = self.nixosConfigurations.server;
        format = "qcow2";
        settings.compress = true;
      };
    };
}
