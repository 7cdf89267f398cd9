package report

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

var (
	// modeColors: one colour per mode of ModeTable; the mesh modes warm,
	// the bypass blue.
	modeColors = map[string]color.Color{
		Mesh:           color.RGBA{R: 0xc0, G: 0x39, B: 0x2b, A: 0xff},
		MeshPrometheus: color.RGBA{R: 0xe6, G: 0x7e, B: 0x22, A: 0xff},
		MeshPlaintext:  color.RGBA{R: 0x8e, G: 0x44, B: 0xad, A: 0xff},
		MeshPHP:        color.RGBA{R: 0x27, G: 0xae, B: 0x60, A: 0xff},
		Bypass:         color.RGBA{R: 0x29, G: 0x80, B: 0xb9, A: 0xff},
	}
	otherColor = color.RGBA{R: 0x7f, G: 0x8c, B: 0x8d, A: 0xff}
	dashes     = map[string][]vg.Length{
		"p50": nil,
		"p90": {vg.Points(6), vg.Points(3)},
		"p99": {vg.Points(2), vg.Points(2)},
	}
)

func modeColor(mode string) color.Color {
	if c, ok := modeColors[mode]; ok {
		return c
	}
	return otherColor
}

// pointModes lists the modes of pts in ModeTable's order.
func pointModes(pts []Point) []string {
	var out []string
	for _, pt := range pts {
		if !slices.Contains(out, pt.Mode) {
			out = append(out, pt.Mode)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return modeRank(out[i]) < modeRank(out[j]) })
	return out
}

// Plots writes the PNGs the report shows.
func Plots(dir string, r *Results) error {
	conc := Points(r, PhaseConcurrency)
	if len(conc) > 0 {
		if err := concurrencyPlot(filepath.Join(dir, LatencyPNG), conc, true); err != nil {
			return err
		}
		if err := concurrencyPlot(filepath.Join(dir, ThroughputPNG), conc, false); err != nil {
			return err
		}
		if err := cpuPlot(filepath.Join(dir, CPUPNG), conc); err != nil {
			return err
		}
	}
	if seed := Points(r, PhaseSeed); len(seed) > 0 {
		if err := seedPlot(filepath.Join(dir, SeedPNG), seed); err != nil {
			return err
		}
	}
	return nil
}

// log2Ticks labels an axis of log2(x) with the x values.
func log2Ticks(xs []int) plot.ConstantTicks {
	var t plot.ConstantTicks
	for _, x := range xs {
		t = append(t, plot.Tick{Value: math.Log2(float64(x)), Label: fmt.Sprint(x)})
	}
	return t
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	return p
}

func addLine(p *plot.Plot, label string, xys plotter.XYs, c color.Color, dash []vg.Length) error {
	if len(xys) == 0 {
		return nil
	}
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return err
	}
	l.Color, l.Dashes, l.Width = c, dash, vg.Points(1.5)
	s.Color, s.Shape = c, draw.CircleGlyph{}
	p.Add(l, s)
	if label != "" {
		p.Legend.Add(label, l, s)
	}
	return nil
}

// percentileLegend: one legend entry per mode (its colour) and one per
// percentile (its dashes), rather than one per line, which with several
// modes would cover the lines.
func percentileLegend(p *plot.Plot, modes, percentiles []string) {
	for _, mode := range modes {
		l := &plotter.Line{LineStyle: draw.LineStyle{Color: modeColor(mode), Width: vg.Points(1.5)}}
		p.Legend.Add(mode, l)
	}
	for _, n := range percentiles {
		l := &plotter.Line{LineStyle: draw.LineStyle{Color: color.Gray{Y: 0x55}, Width: vg.Points(1.5), Dashes: dashes[n]}}
		p.Legend.Add(n, l)
	}
}

// headroom raises the top of the y axis above the data, so that the
// legend (top left) sits over empty space.
func headroom(p *plot.Plot, legendRows int) {
	p.Y.Max *= 1 + 0.07*float64(legendRows)
}

// concurrencyPlot: latency (p50, p90, p99) or throughput against
// concurrency, one colour per mode.
func concurrencyPlot(path string, pts []Point, latency bool) error {
	var cs []int
	seen := map[int]bool{}
	for _, pt := range pts {
		if !seen[pt.Concurrency] {
			seen[pt.Concurrency] = true
			cs = append(cs, pt.Concurrency)
		}
	}
	title, ylabel := "GET / through the ingress: throughput", "requests per second"
	if latency {
		title, ylabel = "GET / through the ingress: latency", "latency (ms)"
	}
	p := newPlot(title, "concurrency (connections)", ylabel)
	p.X.Tick.Marker = log2Ticks(cs)
	for _, mode := range pointModes(pts) {
		series := map[string]plotter.XYs{}
		for _, pt := range pts {
			if pt.Mode != mode {
				continue
			}
			x := math.Log2(float64(pt.Concurrency))
			if latency {
				series["p50"] = append(series["p50"], plotter.XY{X: x, Y: pt.P50})
				series["p90"] = append(series["p90"], plotter.XY{X: x, Y: pt.P90})
				series["p99"] = append(series["p99"], plotter.XY{X: x, Y: pt.P99})
			} else {
				series["rps"] = append(series["rps"], plotter.XY{X: x, Y: pt.RPS})
			}
		}
		names := []string{"rps"}
		if latency {
			names = []string{"p50", "p90", "p99"}
		}
		for _, n := range names {
			label := mode
			if latency {
				label = ""
			}
			if err := addLine(p, label, series[n], modeColor(mode), dashes[n]); err != nil {
				return err
			}
		}
	}
	rows := len(pointModes(pts))
	if latency {
		percentileLegend(p, pointModes(pts), []string{"p50", "p90", "p99"})
		rows += 3
	}
	headroom(p, rows)
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, path)
}

// seedPlot: p50 and p90 latency against seed scale, one colour per mode.
func seedPlot(path string, pts []Point) error {
	var scales []int
	seen := map[int]bool{}
	for _, pt := range pts {
		if !seen[pt.SeedScale] {
			seen[pt.SeedScale] = true
			scales = append(scales, pt.SeedScale)
		}
	}
	p := newPlot("GET / latency against the seed data", "seed scale (×)", "latency (ms)")
	var ticks plot.ConstantTicks
	for _, s := range scales {
		ticks = append(ticks, plot.Tick{Value: math.Log10(float64(s)), Label: fmt.Sprint(s)})
	}
	p.X.Tick.Marker = ticks
	for _, mode := range pointModes(pts) {
		series := map[string]plotter.XYs{}
		for _, pt := range pts {
			if pt.Mode == mode {
				x := math.Log10(float64(pt.SeedScale))
				series["p50"] = append(series["p50"], plotter.XY{X: x, Y: pt.P50})
				series["p90"] = append(series["p90"], plotter.XY{X: x, Y: pt.P90})
			}
		}
		for _, n := range []string{"p50", "p90"} {
			if err := addLine(p, "", series[n], modeColor(mode), dashes[n]); err != nil {
				return err
			}
		}
	}
	percentileLegend(p, pointModes(pts), []string{"p50", "p90"})
	headroom(p, len(pointModes(pts))+2)
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, path)
}

// cpuPlot: cores per 1000 rps by container kind at the highest
// concurrency, one bar per mode in each group.
func cpuPlot(path string, pts []Point) error {
	top := 0
	for _, pt := range pts {
		top = max(top, pt.Concurrency)
	}
	kinds := []string{"app", "sidecar-envoy", "statsd-exporter", "ingress", "fortio"}
	p := newPlot(fmt.Sprintf("CPU per 1000 requests/s, concurrency %d", top), "", "cores per 1000 requests/s")
	p.Legend.Left = false
	modes := pointModes(pts)
	w := vg.Points(float64(36 / max(len(modes), 1)))
	for i, mode := range modes {
		var vals plotter.Values
		for _, k := range kinds {
			v := 0.0
			for _, pt := range pts {
				if pt.Mode == mode && pt.Concurrency == top {
					v = pt.CoresPer1000[k]
				}
			}
			if math.IsNaN(v) {
				v = 0
			}
			vals = append(vals, v)
		}
		bars, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return err
		}
		bars.Color = modeColor(mode)
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(float64(i)-float64(len(modes)-1)/2) * w
		p.Add(bars)
		p.Legend.Add(mode, bars)
	}
	p.NominalX(kinds...)
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, path)
}
