// Package xlacache keeps the executables XLA compiles in a folder, so that a program compiled once
// (a training step takes tens of seconds to compile on a CPU) loads in a fraction of a second in
// every later process: each GoNB notebook cell is a fresh process, and so is each CLI run.
//
// # Idea
//
// GoMLX compiles a graph by calling the PJRT plugin's PJRT_Client_Compile with a StableHLO program
// and serialized compile options. [Install] puts a caching function in front of it, in the plugin's
// own PJRT function table, so every compilation of the process goes through it whoever asks for it:
//
//   - the key is the SHA-256 of the program, the compile options and a salt that names the plugin
//     (path, size, modification time, PJRT API version), the devices, the host CPU and $XLA_FLAGS;
//   - on a hit, the stored bytes go to PJRT_Executable_DeserializeAndLoad;
//   - on a miss (or when loading fails) the plugin compiles as usual, and the result is serialized
//     with PJRT_Executable_Serialize and written with an atomic rename.
//
// go-xla v0.4.5 has the C declarations of PJRT_Executable_Serialize and
// PJRT_Executable_DeserializeAndLoad but no Go API for them, and its compute/xla backend always
// compiles from the program (its Builder, Executable and pjrt.LoadedExecutable keep the C handles
// in unexported fields, and nothing creates a LoadedExecutable from serialized bytes). Hooking the
// function table needs none of that and leaves go-xla and GoMLX unchanged.
//
// # Entries
//
// One file per key, <key>.xlaexec, written to a temporary name and renamed: concurrent processes
// never see partial files, and two writers of one key both write a valid entry. A file holds a
// header (magic, format version, key, payload length, payload SHA-256, compile seconds) and the
// serialized executable. An entry whose header, length or checksum does not match, or that the
// plugin cannot load, is ignored, recompiled and overwritten. The folder is kept under
// [DefaultMaxBytes] by removing the least recently used entries.
//
// Example:
//
//	store, _ := xlacache.Open(xlacache.DefaultDir())
//	err := xlacache.Install(pluginPath, salt, store, os.Stderr) // before the first compilation
package xlaplugin
