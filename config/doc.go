// Package config reads bottle.hcl: the declarative description of the agents
// a project runs and the bottles (sandboxes) they run in.
//
// Load parses one file in stages, as terraform and packer do: parse, schema
// check, variables, locals, agents, bottles, then semantic validation. Every
// stage runs even after an earlier one failed (only a syntax error ends the
// load), so one run reports every independent mistake, each as an
// hcl.Diagnostic whose Subject is the exact offending expression or label and
// whose Context is the enclosing block; what failed comes out unset or
// unknown, so nothing is reported twice. Options.Unset lets validate and plan
// run without values for variables that have no default. Config.Sources
// returns the bytes of every file read so that callers can render snippets.
//
// The result uses plain Go types plus an hcl.Range for every field that may
// fail later (an image that does not pull, a Dockerfile that does not build).
// Three agent arguments stay expressions: command, resume_command and env may
// use session.id and session.identity, which are known only when a bottle is
// launched. Bottle.Launch evaluates them; with a zero Session the late-bound
// values come back unknown, which is what a plan shows as "(known after
// launch)".
//
// Values derived from a sensitive variable or from env() carry a cty mark
// through evaluation, and Launch reports them as Sensitive so that plans and
// state never print them.
//
// The function table is deterministic: no timestamp, uuid or network access,
// so the same inputs always give the same plan. Besides a subset of the cty
// standard library (see functions.go) it has env(NAME), which returns the
// variable's value or "" when it is unset, always marked sensitive;
// file(PATH); templatefile(PATH, VARS); base64encode, base64decode and
// sha256; try and can. Paths given to file and templatefile, and every path
// argument of the language, resolve against the folder of the config file.
// Every file a function reads is listed in Config.Files, for watch mode.
//
// This package imports only hcl, cty and the standard library. It knows
// backends only by name ("docker", "smolmachines"); it never talks to an
// engine, never prints and never writes files.
package config
