package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spaceauth/spaceauth/internal/config"
	"github.com/spaceauth/spaceauth/internal/prune"
)

// cmdPrune deletes every row past retention once, as the server does every
// --prune-interval (docs/retention.md), and prints the counts per table.
// It runs until nothing is left, run after run.
func cmdPrune(ctx context.Context, e env, args []string) error {
	cfg, fs, err := parseCommand("prune", e, args, (*config.Config).RegisterRetention)
	if err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if err := cfg.ValidateRetention(); err != nil {
		return usageError{msg: err.Error()}
	}
	return withExistingStore(ctx, cfg, func(a *app) error {
		p := a.Pruner()
		total := prune.Counts{}
		for {
			res, err := p.Run(ctx)
			for name, n := range res.Counts {
				total[name] += n
			}
			if err != nil {
				return err
			}
			if res.Done || ctx.Err() != nil {
				break
			}
		}
		w := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		var sum int64
		for _, name := range p.Names() {
			fmt.Fprintf(w, "%s\t%d\n", name, total[name])
			sum += total[name]
		}
		fmt.Fprintf(w, "total\t%d\n", sum)
		return w.Flush()
	})
}
