package bench

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// WritePlot draws the report as a PNG: goodput per link profile, loaded
// echo RTT per profile (bar at p50, whisker to p99), and, when the run had
// a loss sweep, goodput over loss; one colour per subject.
func (r *Report) WritePlot(w io.Writer) error {
	plots, err := r.plots()
	if err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	const panel = 5 * vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(panel*vg.Length(len(plots)), 4*vg.Inch), vgimg.UseDPI(110))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(plots), PadX: vg.Millimeter * 4, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	for i, p := range plots {
		p.Draw(tiles.At(dc, i, 0))
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("bench: plot: %w", err)
	}
	return nil
}

func (r *Report) plots() ([]*plot.Plot, error) {
	var links []string
	for _, sc := range r.Scenarios {
		if sc.Group != GroupSweep {
			links = append(links, sc.Name)
		}
	}
	var plots []*plot.Plot
	if len(links) > 0 {
		g, err := r.barPlot("Goodput, one download", "Mbit/s", links, "download_mbps", "")
		if err != nil {
			return nil, err
		}
		l, err := r.barPlot("Echo RTT during the download (p50, whisker p99)", "ms", links, "loaded_rtt_p50_ms", "loaded_rtt_p99_ms")
		if err != nil {
			return nil, err
		}
		plots = append(plots, g, l)
	}
	if s := r.sweepPlot(); s != nil {
		plots = append(plots, s)
	}
	if len(plots) == 0 {
		return nil, fmt.Errorf("nothing to plot")
	}
	return plots, nil
}

func (r *Report) metric(scenario, subject, key string) float64 {
	for _, s := range r.Summaries {
		if s.Scenario == scenario && s.Subject == subject {
			if v, ok := s.Metrics[key]; ok {
				return v
			}
		}
	}
	return math.NaN()
}

// whiskers draws a vertical line per bar from its top (Lo) to Hi, shifted
// sideways by the bar's offset, like plotter.BarChart does.
type whiskers struct {
	X, Lo, Hi []float64
	Offset    vg.Length
	Style     draw.LineStyle
}

func (w *whiskers) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i := range w.X {
		x := trX(w.X[i]) + w.Offset
		c.StrokeLine2(w.Style, x, trY(w.Lo[i]), x, trY(w.Hi[i]))
		c.StrokeLine2(w.Style, x-vg.Points(3), trY(w.Hi[i]), x+vg.Points(3), trY(w.Hi[i]))
	}
}

func (w *whiskers) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax, ymin, ymax = math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for i := range w.X {
		xmin, xmax = min(xmin, w.X[i]), max(xmax, w.X[i])
		ymin, ymax = min(ymin, w.Lo[i]), max(ymax, w.Hi[i])
	}
	return xmin, xmax, ymin, ymax
}

// bars draws one subject's values as bars on a log scale: from the
// axis's bottom up to each value, shifted sideways by Offset. Missing
// values (NaN, ≤ 0) draw nothing.
type bars struct {
	Values []float64
	Offset vg.Length
	Width  vg.Length
	Color  color.Color
}

func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i, v := range b.Values {
		if !(v > 0) {
			continue
		}
		x := trX(float64(i)) + b.Offset
		x0, x1, y0, y1 := x-b.Width/2, x+b.Width/2, trY(p.Y.Min), trY(v)
		c.FillPolygon(b.Color, c.ClipPolygonY([]vg.Point{{X: x0, Y: y0}, {X: x0, Y: y1}, {X: x1, Y: y1}, {X: x1, Y: y0}}))
	}
}

func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax, ymin, ymax = 0, float64(len(b.Values)-1), math.Inf(1), math.Inf(-1)
	for _, v := range b.Values {
		if v > 0 {
			ymin, ymax = min(ymin, v), max(ymax, v)
		}
	}
	return xmin, xmax, ymin, ymax
}

// Thumbnail draws the legend's colour swatch.
func (b *bars) Thumbnail(c *draw.Canvas) {
	c.FillPolygon(b.Color, c.ClipPolygonY([]vg.Point{
		{X: c.Min.X, Y: c.Min.Y}, {X: c.Min.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Min.Y}}))
}

// barPlot draws key per link, one bar per subject on a log scale, with a
// whisker up to whiskerKey when given.
func (r *Report) barPlot(title, unit string, links []string, key, whiskerKey string) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = unit + " (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	n := len(r.Subjects)
	width := vg.Points(min(16, 56/float64(max(n, 1))))
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, sub := range r.Subjects {
		b := &bars{Values: make([]float64, len(links)), Width: width, Color: plotutil.Color(i),
			Offset: width * vg.Length(float64(i)-float64(n-1)/2)}
		wk := &whiskers{Offset: b.Offset, Style: draw.LineStyle{Color: color.Black, Width: vg.Points(0.8)}}
		for j, l := range links {
			v := r.metric(l, sub, key)
			b.Values[j] = v
			if v > 0 {
				lo, hi = min(lo, v), max(hi, v)
			}
			if whiskerKey == "" {
				continue
			}
			if top := r.metric(l, sub, whiskerKey); v > 0 && top > v {
				wk.X, wk.Lo, wk.Hi = append(wk.X, float64(j)), append(wk.Lo, v), append(wk.Hi, top)
				hi = max(hi, top)
			}
		}
		p.Add(b)
		p.Legend.Add(sub, b)
		if len(wk.X) > 0 {
			p.Add(wk)
		}
	}
	if math.IsInf(lo, 0) {
		return nil, fmt.Errorf("no %s values", key)
	}
	// Round the axis out to decades, with headroom above for the legend.
	p.Y.Min = math.Pow(10, math.Floor(math.Log10(lo)-0.3))
	p.Y.Max = math.Pow(10, math.Ceil(math.Log10(hi)+0.3))
	p.NominalX(links...)
	p.X.Min, p.X.Max = -0.6, float64(len(links))-0.4
	p.Legend.Top = true
	p.Legend.Left = true
	return p, nil
}

// sweepPlot draws goodput over loss for every subject, or returns nil
// without a sweep.
func (r *Report) sweepPlot() *plot.Plot {
	var pts []ScenarioInfo
	for _, sc := range r.Scenarios {
		if sc.Group == GroupSweep {
			pts = append(pts, sc)
		}
	}
	if len(pts) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Goodput over loss (%s link)", SweepBase)
	p.X.Label.Text = "random loss each way, %"
	p.Y.Label.Text = "Mbit/s (log scale)"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, sub := range r.Subjects {
		var xys plotter.XYs
		for _, sc := range pts {
			if v := r.metric(sc.Name, sub, "download_mbps"); v > 0 {
				xys = append(xys, plotter.XY{X: sc.LossPct, Y: v})
				lo, hi = min(lo, v), max(hi, v)
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			continue
		}
		line.Color, points.Color = plotutil.Color(i), plotutil.Color(i)
		line.Width = vg.Points(1.5)
		points.Shape = plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(sub, line, points)
	}
	if math.IsInf(lo, 0) {
		return nil
	}
	p.Y.Min = math.Pow(10, math.Floor(math.Log10(lo)-0.3))
	p.Y.Max = math.Pow(10, math.Ceil(math.Log10(hi)+0.3))
	p.Add(plotter.NewGrid())
	p.Legend.Left = true // the lines start high at 0 % loss: bottom left stays free
	return p
}
