// Package agent is the client a person runs all day: `simplecloud client
// run` keeps every folder of ~/.config/simplecloud/client.toml going, each
// in the mode its owner chose for it. A sync folder is a local copy kept in
// step both ways by the sync engine (sync/client), as `simplecloud sync`
// does; a stream folder is the server's directory mounted with sshfs,
// mounted again when sshfs ends. The folders of one host share one SSH
// connection (OpenSSH's ControlMaster, the control sockets in the runtime
// directory), so the server sees one login per host, not one per folder.
//
// The configuration is the only state the agent keeps; it reads it again
// when the file changes, so `simplecloud client add|remove|pause|resume`
// (which edit it) take effect on a running client. What each folder is
// doing goes to a status file in the runtime directory, which `simplecloud
// status` reads: no socket, no database.
package agent
