{
  description = "My NixOS for Apple Silicon Macs, packaged for the Asahi Linux installer";

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
      nixosConfigurations.mac = nixpkgs.lib.nixosSystem {
        modules = [
          # Apple Silicon support plus the installer image layout.
          nixos-image-tools.nixosModules.default
          ./configuration.nix
          # The image's /etc/nixos is this flake (the files git tracks,
          # flake.lock included: commit it), so `nixos-rebuild switch` on
          # the Mac rebuilds this configuration with these inputs.
          { nixosAsahi.etcNixosSource = self.outPath; }
        ];
      };

      # One call each. nix build .#asahi-package gives
      #   result/my-nixos-1.0.0-btrfs.zip, result/installer_data-1.0.0-btrfs.json
      packages.aarch64-linux.asahi-package = nixos-image-tools.lib.mkAsahiPackage {
        nixosConfiguration = self.nixosConfigurations.mac;
      };
      # The whole disk image (disk.img + report.json), e.g. for inspection.
      packages.aarch64-linux.asahi-image = nixos-image-tools.lib.mkAsahiImage {
        nixosConfiguration = self.nixosConfigurations.mac;
      };
    };
}
