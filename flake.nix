{
  description = "Build, carve and package NixOS disk images for the Asahi Linux installer, reproducibly and without a VM";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    nixos-apple-silicon = {
      url = "github:nix-community/nixos-apple-silicon";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      nixos-apple-silicon,
      ...
    }:
    let
      inherit (nixpkgs) lib;
      helpers = import ./lib/helpers;
      # No x86_64-darwin: nixpkgs after the 26.05 branch-off (the locked
      # nixos-unstable) throws "Nixpkgs 26.11 has dropped support for
      # x86_64-darwin" as soon as legacyPackages.x86_64-darwin is evaluated,
      # which would break `nix flake check` for every system.
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "aarch64-darwin"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});

      imageSystem =
        fs:
        lib.nixosSystem {
          modules = [
            self.nixosModules.default
            ./modules/image-system.nix
            {
              nixpkgs.hostPlatform = "aarch64-linux";
              nixosAsahi = {
                enable = true;
                fsType = fs;
              };
            }
          ];
        };

      # The packaging pipeline on a tiny tree (no aarch64, no VM).
      packaging = pkgs: fs: (import ./tests/nix/packaging.nix { inherit pkgs fs; }).verify;
    in
    {
      lib = import ./lib { nixosModule = self.nixosModules.default; };

      overlays.default = final: _prev: {
        nixos-image-tools = final.callPackage ./package.nix { };
      };

      packages = forAllSystems (
        system: pkgs:
        let
          tools = pkgs.callPackage ./package.nix { };
        in
        {
          nixos-image-tools = tools;
          default = tools;
        }
        // lib.optionalAttrs (system == "aarch64-linux") {
          nixos-asahi-btrfs = self.nixosConfigurations.nixos-asahi-btrfs.config.system.build.asahiPackage;
          nixos-asahi-ext4 = self.nixosConfigurations.nixos-asahi-ext4.config.system.build.asahiPackage;
          nixos-asahi-image-btrfs = self.nixosConfigurations.nixos-asahi-btrfs.config.system.build.asahiImage;
          nixos-asahi-image-ext4 = self.nixosConfigurations.nixos-asahi-ext4.config.system.build.asahiImage;
        }
      );

      nixosModules = {
        # The image layout plus Apple Silicon support (what /etc/nixos imports).
        nixos-asahi = {
          _file = ./flake.nix;
          # Imported twice (a configuration that imports it, extended by
          # lib.mkAsahiPackage), it counts once.
          key = "nixos-image-tools#nixosModules.nixos-asahi";
          imports = [
            ./modules/nixos-asahi-image.nix
            nixos-apple-silicon.nixosModules.apple-silicon-support
          ];
          # The starter /etc/nixos flake.lock pins the inputs this flake was
          # evaluated with (after any follows/overrides of the user's flake).
          # Not this flake itself: its revision may be unpushed or in a fork
          # the Mac cannot fetch (the starter flake names a release tag).
          nixosAsahi.starterFlake.locks = lib.mkDefault {
            nixpkgs = helpers.inputLock nixpkgs;
            nixos-apple-silicon = helpers.inputLock nixos-apple-silicon;
          };
        };
        # The image layout alone.
        nixos-asahi-image = ./modules/nixos-asahi-image.nix;
        # Every format (nixosImage.format; lib.mkImage uses it).
        image = ./modules/image.nix;
        default = self.nixosModules.nixos-asahi;
      };

      nixosConfigurations = {
        nixos-asahi-btrfs = imageSystem "btrfs";
        nixos-asahi-ext4 = imageSystem "ext4";
      };

      # Derivations only (nix-fast-build builds every attribute).
      checks = forAllSystems (
        system: pkgs:
        {
          nixos-image-tools = self.packages.${system}.nixos-image-tools;
        }
        // lib.optionalAttrs pkgs.stdenv.hostPlatform.isLinux {
          packaging-btrfs = packaging pkgs "btrfs";
          packaging-ext4 = packaging pkgs "ext4";
        }
        // lib.optionalAttrs (system == "aarch64-linux") {
          inherit (self.packages.${system}) nixos-asahi-btrfs nixos-asahi-ext4;
        }
      );

      devShells = forAllSystems (
        _system: pkgs: {
          default = pkgs.mkShell {
            packages =
              with pkgs;
              [
                cargo
                rustc
                clippy
                rustfmt
                e2fsprogs
                dosfstools
                mtools
                p7zip
                python3
                unzip
                gptfdisk
              ]
              ++ lib.optional stdenv.hostPlatform.isLinux btrfs-progs;
          };
        }
      );

      # nixfmt (RFC 166 style) over the whole tree, so a bare `nix fmt` works.
      formatter = forAllSystems (_system: pkgs: pkgs.nixfmt-tree);

      apps = forAllSystems (
        system: pkgs: {
          # Put packages on S3-compatible storage or in a directory (README: Distribution).
          publish = {
            type = "app";
            program = "${self.packages.${system}.nixos-image-tools}/bin/publish";
          };
          # Serve packages from this machine; prints the line to run on the Mac.
          serve = {
            type = "app";
            program = "${self.packages.${system}.nixos-image-tools}/bin/serve";
          };
          create-release = {
            type = "app";
            program = lib.getExe (
              pkgs.writeShellApplication {
                name = "create-release";
                runtimeInputs = with pkgs; [
                  git
                  gnused
                  gnugrep
                  coreutils
                ];
                text = builtins.readFile ./tools/create-release.sh;
              }
            );
          };
        }
      );

      templates = {
        default = {
          path = ./templates/default;
          description = "Package your own NixOS configuration for the Asahi Linux installer";
        };
        raspberry-pi = {
          path = ./templates/raspberry-pi;
          description = "A Raspberry Pi 4 SD-card image (sd-image's layout) of your NixOS configuration, without a VM";
        };
        raw-efi = {
          path = ./templates/raw-efi;
          description = "A raw EFI disk and a qcow2 VM disk of your NixOS configuration, without a VM";
        };
      };
    };
}
