# From nixpkgs nixos/modules/config/users-groups.nix (types and defaults as declared there)
# TEST FIXTURE -- NOT NIXPKGS. users.mutableUsers, users.users (the user
# submodule's main options, with the normal-user defaults of its config),
# users.groups, the root user definition and the per-user assertions (name,
# hash, uid, isSystemUser/isNormalUser, group) as in the newest version read.
# Left out: subuid/subgid ranges, linger (and its assertion), cryptHomeLuks,
# shell-program assertions, password warnings, the activation script.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    literalExpression
    mkDefault
    mkIf
    mkOption
    types
    ;
  cfg = config.users;

  passwordDescription = "The options hashedPassword, password and hashedPasswordFile control what password is set for the user.";

  userOpts =
    { name, config, ... }:
    {
      options = {
        enable = mkOption {
          type = types.bool;
          default = true;
          description = "If set to false, the user account will not be created.";
        };

        name = mkOption {
          type = types.passwdEntry types.str;
          apply =
            x:
            assert (
              lib.stringLength x < 32 || abort "Username '${x}' is longer than 31 characters which is not allowed!"
            );
            x;
          description = "The name of the user account. If undefined, the name of the attribute set will be used.";
        };

        description = mkOption {
          type = types.passwdEntry types.str;
          default = "";
          example = "Alice Q. User";
          description = "A short description of the user account, typically the user's full name.";
        };

        uid = mkOption {
          type = with types; nullOr int;
          default = null;
          description = "The account UID. If the UID is null, a free UID is picked on activation.";
        };

        isSystemUser = mkOption {
          type = types.bool;
          default = false;
          description = "Indicates if the user is a system user or not.";
        };

        isNormalUser = mkOption {
          type = types.bool;
          default = false;
          description = "Indicates whether this is an account for a “real” user.";
        };

        group = mkOption {
          type = types.str;
          apply =
            x:
            assert (
              lib.stringLength x < 32 || abort "Group name '${x}' is longer than 31 characters which is not allowed!"
            );
            x;
          default = "";
          description = "The user's primary group.";
        };

        extraGroups = mkOption {
          type = types.listOf types.str;
          default = [ ];
          description = "The user's auxiliary groups.";
        };

        home = mkOption {
          type = types.passwdEntry types.path;
          default = "/var/empty";
          description = "The user's home directory.";
        };

        homeMode = mkOption {
          type = types.strMatching "[0-7]{1,5}";
          default = "700";
          description = "The user's home directory mode in numeric format.";
        };

        createHome = mkOption {
          type = types.bool;
          default = false;
          description = "Whether to create the home directory and ensure ownership as well as permissions to match the user.";
        };

        useDefaultShell = mkOption {
          type = types.bool;
          default = false;
          description = "If true, the user's shell will be set to {option}`users.defaultUserShell`.";
        };

        shell = mkOption {
          type = types.nullOr (types.either types.shellPackage (types.passwdEntry types.path));
          default = pkgs.shadow;
          defaultText = literalExpression "pkgs.shadow";
          example = literalExpression "pkgs.bashInteractive";
          description = "The path to the user's shell.";
        };

        ignoreShellProgramCheck = mkOption {
          type = types.bool;
          default = false;
          description = "By default, nixos will check that programs.SHELL.enable is set to true if the user has a custom shell specified.";
        };

        packages = mkOption {
          type = types.listOf types.package;
          default = [ ];
          example = literalExpression "[ pkgs.firefox pkgs.thunderbird ]";
          description = "The set of packages that should be made available to the user.";
        };

        hashedPassword = mkOption {
          type = with types; nullOr (passwdEntry str);
          default = null;
          description = "Specifies the hashed password for the user. ${passwordDescription}";
        };

        password = mkOption {
          type = with types; nullOr str;
          default = null;
          description = "Specifies the (clear text) password for the user. ${passwordDescription}";
        };

        hashedPasswordFile = mkOption {
          type = with types; nullOr str;
          default = cfg.users.${name}.passwordFile or null;
          defaultText = literalExpression "null";
          description = "The full path to a file that contains the hash of the user's password. ${passwordDescription}";
        };

        initialHashedPassword = mkOption {
          type = with types; nullOr (passwdEntry str);
          default = null;
          description = "Specifies the initial hashed password for the user. ${passwordDescription}";
        };

        initialPassword = mkOption {
          type = with types; nullOr str;
          default = null;
          description = "Specifies the initial password for the user. ${passwordDescription}";
        };

        expires = mkOption {
          type = types.nullOr (types.strMatching "[[:digit:]]{4}-[[:digit:]]{2}-[[:digit:]]{2}");
          default = null;
          description = "Set the date on which the user's account will no longer be accessible.";
        };
      };

      config = lib.mkMerge [
        {
          name = mkDefault name;
          shell = mkIf config.useDefaultShell (mkDefault cfg.defaultUserShell);
        }
        (mkIf config.isNormalUser {
          group = mkDefault "users";
          createHome = mkDefault true;
          home = mkDefault "/home/${config.name}";
          homeMode = mkDefault "700";
          useDefaultShell = mkDefault true;
          isSystemUser = mkDefault false;
        })
      ];
    };

  groupOpts =
    { name, ... }:
    {
      options = {
        name = mkOption {
          type = types.passwdEntry types.str;
          description = "The name of the group. If undefined, the name of the attribute set will be used.";
        };
        gid = mkOption {
          type = with types; nullOr int;
          default = null;
          description = "The group GID. If the GID is null, a free GID is picked on activation.";
        };
        members = mkOption {
          type = with types; listOf (passwdEntry str);
          default = [ ];
          description = "The user names of the group members, added to the `/etc/group` file.";
        };
      };
      config.name = mkDefault name;
    };
in
{
  options = {
    users.mutableUsers = mkOption {
      type = types.bool;
      default = true;
      description = "If set to `true`, you are free to add new users and groups to the system with the ordinary `useradd` and `groupadd` commands.";
    };

    users.defaultUserShell = mkOption {
      type = types.either types.shellPackage (types.passwdEntry types.path);
      default = pkgs.shadow;
      defaultText = literalExpression "pkgs.shadow";
      description = "This option defines the default shell assigned to user accounts.";
    };

    users.users = mkOption {
      default = { };
      type = with types; attrsOf (submodule userOpts);
      example = {
        alice = {
          uid = 1234;
          description = "Alice Q. User";
          home = "/home/alice";
          createHome = true;
          group = "users";
          extraGroups = [ "wheel" ];
          shell = "/bin/sh";
        };
      };
      description = "Additional user accounts to be created automatically by the system.";
    };

    users.groups = mkOption {
      default = { };
      type = with types; attrsOf (submodule groupOpts);
      description = "Additional groups to be created automatically by the system.";
    };
  };

  config = {
    users.users = {
      root = {
        uid = 0;
        description = "System administrator";
        home = "/root";
        shell = mkDefault cfg.defaultUserShell;
        group = "root";
      };
    };

    users.groups = {
      root.gid = 0;
      wheel.gid = 1;
      users.gid = 100;
    };

    assertions = lib.flatten (
      lib.flip lib.mapAttrsToList cfg.users (
        name: user: [
          (
            let
              nameRegex = "[a-zA-Z0-9_.][a-zA-Z0-9_.-]*";
            in
            {
              assertion = builtins.match nameRegex user.name != null;
              message = "The username \"${user.name}\" is not valid, it does not match the regex \"${nameRegex}\".";
            }
          )
          {
            assertion = (user.hashedPassword != null) -> (builtins.match ".*:.*" user.hashedPassword == null);
            message = ''
              The password hash of user "${user.name}" contains a ":" character.
              This is invalid and would break the login system because the fields
              of /etc/shadow (file where hashes are stored) are colon-separated.
              Please check the value of option `users.users."${user.name}".hashedPassword`.'';
          }
          {
            assertion = user.isNormalUser && user.uid != null -> user.uid >= 1000;
            message = ''
              A user cannot have a users.users.${user.name}.uid set below 1000 and set users.users.${user.name}.isNormalUser.
              Either users.users.${user.name}.isSystemUser must be set to true instead of users.users.${user.name}.isNormalUser
              or users.users.${user.name}.uid must be changed to 1000 or above.
            '';
          }
          {
            assertion =
              let
                # we do an extra check on isNormalUser here, to not trigger this assertion when isNormalUser is set and uid to < 1000
                isEffectivelySystemUser =
                  user.isSystemUser || (user.uid != null && user.uid < 1000 && !user.isNormalUser);
              in
              lib.xor isEffectivelySystemUser user.isNormalUser;
            message = ''
              Exactly one of users.users.${user.name}.isSystemUser and users.users.${user.name}.isNormalUser must be set.
            '';
          }
          {
            assertion = user.group != "";
            message = ''
              users.users.${user.name}.group is unset. This used to default to
              nogroup, but this is unsafe. For example you can create a group
              for this user with:
              users.users.${user.name}.group = "${user.name}";
              users.groups.${user.name} = {};
            '';
          }
        ]
      )
    );
  };
}
