package main

import (
	"io"
	"os"

	"github.com/hotline-cc/hotline/center"
	"github.com/hotline-cc/hotline/ivr/flowcli"
)

// flowCommand runs `hotline flow check|sim|test|graph`; see ivr/flowcli for the commands.
// `flow sim` without --digits reads the caller's key presses from standard input; --config
// files are read the way `hotline serve` reads them.
func flowCommand(args []string, stdout, stderr io.Writer) int {
	return flowcli.Main(center.LoadFlowCatalog, args, os.Stdin, stdout, stderr)
}
