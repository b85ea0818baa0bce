package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Main is the bench command: it parses args, builds this repository's
// binaries where no others were given (into a directory under tempDir,
// removed afterwards), runs the bench with progress on stderr, prints the
// table on stdout and writes the JSON and plot files asked for. It
// returns the run's error after writing whatever was measured.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, tempDir string) error {
	cmd, err := ParseArgs(args, stderr)
	if err != nil {
		return err
	}
	if cmd.From != "" {
		return replay(cmd, stdout)
	}
	cfg := cmd.Config
	cfg.Progress = stderr
	if cmd.BuildA || cmd.BuildB {
		dir, err := os.MkdirTemp(tempDir, "kcptun-bench-")
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(dir)
		fmt.Fprintf(stderr, "building ./client and ./server into %s\n", dir)
		built, err := BuildRepoPair(ctx, "", filepath.Join(dir, "bin"), "", nil, nil)
		if err != nil {
			return err
		}
		for i := range cfg.Pairs {
			if (i == 0 && cmd.BuildA) || (i == 1 && cmd.BuildB) {
				cfg.Pairs[i].Client, cfg.Pairs[i].Server = built.Client, built.Server
			}
		}
	}
	if cmd.JSON != "" {
		cfg.Checkpoint = func(r *Report) {
			r.Command = append([]string{"bench"}, cmd.Args...)
			if err := writeFile(cmd.JSON, r.WriteJSON); err != nil {
				fmt.Fprintf(stderr, "checkpoint: %v\n", err)
			}
		}
	}
	rep, runErr := Run(ctx, cfg)
	if rep == nil {
		return runErr
	}
	rep.Command = append([]string{"bench"}, cmd.Args...)
	var errs []error
	if runErr != nil {
		errs = append(errs, runErr)
	}
	if err := rep.WriteTable(stdout); err != nil {
		errs = append(errs, err)
	}
	if cmd.JSON != "" {
		errs = append(errs, writeFile(cmd.JSON, rep.WriteJSON))
	}
	if cmd.Plot != "" {
		errs = append(errs, writeFile(cmd.Plot, rep.WritePlot))
	}
	return errors.Join(errs...)
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// replay prints and plots a saved report.
func replay(cmd Command, stdout io.Writer) error {
	f, err := os.Open(cmd.From)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer f.Close()
	rep, err := ReadReport(f)
	if err != nil {
		return err
	}
	// The medians and ratios are those of the runs in the file, which
	// may have been trimmed by hand (an aborted run taken out).
	rep.Summaries = Summarize(rep.Runs, rep.scenarioNames(), rep.Subjects)
	rep.Ratios = CompareSubjects(rep.Summaries, rep.Subjects)
	errs := []error{rep.WriteTable(stdout)}
	if cmd.JSON != "" {
		errs = append(errs, writeFile(cmd.JSON, rep.WriteJSON))
	}
	if cmd.Plot != "" {
		errs = append(errs, writeFile(cmd.Plot, rep.WritePlot))
	}
	return errors.Join(errs...)
}
