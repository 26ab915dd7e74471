# The starter /etc/nixos flake.lock: what pins a flake input, and a lock
# file for a list of inputs with follows.
let
  inherit (builtins)
    match
    elem
    elemAt
    attrNames
    filter
    concatMap
    listToAttrs
    mapAttrs
    isString
    removeAttrs
    ;
in
rec {
  # "github:owner/repo[/ref]" -> the flake.lock "original" of that input
  # ({ type, owner, repo, ref? }); null for any other URL form.
  githubOriginal =
    url:
    let
      m = match "github:([^/?#]+)/([^/?#]+)(/([^?#]+))?" url;
    in
    if m == null then
      null
    else
      {
        type = "github";
        owner = elemAt m 0;
        repo = elemAt m 1;
      }
      // (if elemAt m 3 == null then { } else { ref = elemAt m 3; });

  # What pins a flake input (or a flake's `self`): its rev, narHash and
  # lastModified, plus its own flake.lock (for the inputs of its own that are
  # not followed). null when it has no rev (a dirty tree, a path: input).
  inputLock =
    input:
    if input ? rev && input ? narHash then
      let
        lockFile = "${input.outPath}/flake.lock";
      in
      {
        inherit (input) rev narHash;
      }
      // (if input ? lastModified then { inherit (input) lastModified; } else { })
      // (
        if builtins.pathExists lockFile then
          { flakeLock = builtins.fromJSON (builtins.readFile lockFile); }
        else
          { }
      )
    else
      null;

  # A flake.lock (version 7, as attrs) for a flake whose inputs are
  #   [ { name; url; follows ? { <its input> = "<root input>"; }; lock ? null; } ]
  # (lock: inputLock of what it should be pinned to). Inputs without a lock
  # or with a URL other than github:owner/repo[/ref] are left out, and Nix
  # locks them on first use. An input's own inputs that are not followed are
  # copied from its flake.lock when they have no inputs themselves.
  flakeLockFor =
    inputs:
    let
      pinned = filter (i: (i.lock or null) != null && githubOriginal i.url != null) inputs;
      names = map (i: i.name) pinned;
      subKey = i: n: if elem n names then "${i.name}_${n}" else n;
      # [ { name = "<its input>"; key = "<node key>"; node = { ... }; } ]
      subInputs =
        i:
        let
          fl = i.lock.flakeLock or null;
          rootInputs = if fl == null then { } else fl.nodes.${fl.root}.inputs or { };
        in
        concatMap (
          n:
          let
            ref = rootInputs.${n};
          in
          if (i.follows or { }) ? ${n} || !(isString ref) || fl.nodes.${ref} ? inputs then
            [ ]
          else
            [
              {
                name = n;
                key = subKey i n;
                node = removeAttrs fl.nodes.${ref} [ "inputs" ];
              }
            ]
        ) (attrNames rootInputs);
      nodeOf =
        i:
        let
          original = githubOriginal i.url;
          inputsOf =
            mapAttrs (_: target: [ target ]) (i.follows or { })
            // listToAttrs (
              map (s: {
                inherit (s) name;
                value = s.key;
              }) (subInputs i)
            );
        in
        {
          inherit original;
          locked =
            removeAttrs original [ "ref" ]
            // {
              inherit (i.lock) rev narHash;
            }
            // (if i.lock ? lastModified then { inherit (i.lock) lastModified; } else { });
        }
        // (if inputsOf == { } then { } else { inputs = inputsOf; });
    in
    {
      nodes =
        listToAttrs (
          map (i: {
            inherit (i) name;
            value = nodeOf i;
          }) pinned
        )
        // listToAttrs (
          concatMap (
            i:
            map (s: {
              name = s.key;
              value = s.node;
            }) (subInputs i)
          ) pinned
        )
        // {
          root.inputs = listToAttrs (
            map (n: {
              name = n;
              value = n;
            }) names
          );
        };
      root = "root";
      version = 7;
    };
}
