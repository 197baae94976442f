import Foundation

/// A small SVG line chart: one polyline per series, optional log₁₀ x axis, legend below.
/// Points with a non-finite coordinate (or x ≤ 0 on a log axis) are skipped and break the line.
public struct LineChart: Sendable {
    public struct Line: Sendable {
        public var label: String
        public var points: [(x: Double, y: Double)]

        public init(label: String, points: [(x: Double, y: Double)]) {
            self.label = label
            self.points = points
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logX: Bool
    /// Fixed y range (e.g. 0…1 for Jaccard); nil fits the data.
    public var yRange: ClosedRange<Double>?
    public var lines: [Line]

    public init(title: String, xLabel: String, yLabel: String, logX: Bool, yRange: ClosedRange<Double>? = nil, lines: [Line]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logX = logX
        self.yRange = yRange
        self.lines = lines
    }

    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                          "#bcbd22", "#17becf"]
    static let (width, height) = (480.0, 300.0)
    static let (left, right, top, bottom) = (74.0, 12.0, 26.0, 44.0)

    /// The chart as an inline `<svg>` element.
    public var svg: String {
        let usable = lines.map { line in line.points.map { p in (x: logX ? (p.x > 0 ? log10(p.x) : .nan) : p.x, y: p.y) } }
        let finite = usable.flatMap { $0 }.filter { $0.x.isFinite && $0.y.isFinite }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(Self.width))\" height=\"\(Int(Self.height + 18 * Double((lines.count + 2) / 3)))\" font-family=\"sans-serif\" font-size=\"11\">"
        out += "<text x=\"\(Self.width / 2)\" y=\"16\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">\(escapeHTML(title))</text>"
        guard let xMin = finite.map(\.x).min(), let xMax = finite.map(\.x).max(),
              let dataYMin = finite.map(\.y).min(), let dataYMax = finite.map(\.y).max() else {
            return out + "<text x=\"\(Self.width / 2)\" y=\"\(Self.height / 2)\" text-anchor=\"middle\" fill=\"#888\">no data</text></svg>"
        }
        let xr = Self.padded(xMin...xMax)
        let yr = yRange ?? Self.padded(dataYMin...dataYMax)
        let plotW = Self.width - Self.left - Self.right, plotH = Self.height - Self.top - Self.bottom
        func sx(_ x: Double) -> Double { Self.left + (x - xr.lowerBound) / (xr.upperBound - xr.lowerBound) * plotW }
        func sy(_ y: Double) -> Double { Self.top + plotH - (y - yr.lowerBound) / (yr.upperBound - yr.lowerBound) * plotH }

        out += "<rect x=\"\(Self.left)\" y=\"\(Self.top)\" width=\"\(plotW)\" height=\"\(plotH)\" fill=\"none\" stroke=\"#999\"/>"
        let yTicks = Self.ticks(yr)
        for t in yTicks.values {
            out += "<line x1=\"\(Self.left)\" x2=\"\(Self.left + plotW)\" y1=\"\(fmt(sy(t)))\" y2=\"\(fmt(sy(t)))\" stroke=\"#eee\"/>"
            out += "<text x=\"\(Self.left - 4)\" y=\"\(fmt(sy(t) + 4))\" text-anchor=\"end\">\(Self.label(t, step: yTicks.step))</text>"
        }
        let xTicks = logX ? (values: Array(Int(xr.lowerBound.rounded(.up))...max(Int(xr.lowerBound.rounded(.up)), Int(xr.upperBound.rounded(.down)))).map(Double.init), step: 1.0)
                          : Self.ticks(xr)
        for t in xTicks.values where xr.contains(t) {
            out += "<line x1=\"\(fmt(sx(t)))\" x2=\"\(fmt(sx(t)))\" y1=\"\(Self.top)\" y2=\"\(Self.top + plotH)\" stroke=\"#eee\"/>"
            out += "<text x=\"\(fmt(sx(t)))\" y=\"\(fmt(Self.top + plotH + 14))\" text-anchor=\"middle\">\(logX ? "1e\(Int(t))" : Self.label(t, step: xTicks.step))</text>"
        }
        out += "<text x=\"\(fmt(Self.left + plotW / 2))\" y=\"\(fmt(Self.height - 8))\" text-anchor=\"middle\">\(escapeHTML(xLabel))</text>"
        out += "<text transform=\"translate(12,\(fmt(Self.top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escapeHTML(yLabel))</text>"

        for (n, points) in usable.enumerated() {
            let color = Self.palette[n % Self.palette.count]
            for run in Self.runs(points) {
                let coordinates = run.map { "\(fmt(sx($0.x))),\(fmt(sy($0.y)))" }.joined(separator: " ")
                out += run.count == 1
                    ? "<circle cx=\"\(fmt(sx(run[0].x)))\" cy=\"\(fmt(sy(run[0].y)))\" r=\"2.5\" fill=\"\(color)\"/>"
                    : "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.6\" points=\"\(coordinates)\"/>"
            }
            let lx = Self.left + Double(n % 3) * (plotW / 3), ly = Self.height + 4 + 18 * Double(n / 3)
            out += "<rect x=\"\(fmt(lx))\" y=\"\(fmt(ly))\" width=\"12\" height=\"3\" fill=\"\(color)\"/>"
            out += "<text x=\"\(fmt(lx + 16))\" y=\"\(fmt(ly + 5))\">\(escapeHTML(lines[n].label))</text>"
        }
        return out + "</svg>"
    }

    /// Maximal runs of finite points (a missing point breaks the line).
    static func runs(_ points: [(x: Double, y: Double)]) -> [[(x: Double, y: Double)]] {
        var runs: [[(x: Double, y: Double)]] = [[]]
        for p in points {
            if p.x.isFinite && p.y.isFinite { runs[runs.count - 1].append(p) } else if !runs[runs.count - 1].isEmpty { runs.append([]) }
        }
        return runs.filter { !$0.isEmpty }
    }

    static func padded(_ r: ClosedRange<Double>) -> ClosedRange<Double> {
        let span = r.upperBound - r.lowerBound
        let pad = span > 0 ? span * 0.05 : max(abs(r.lowerBound) * 0.1, 0.5)
        return (r.lowerBound - pad)...(r.upperBound + pad)
    }

    /// About five round tick values inside `r`, and their spacing.
    static func ticks(_ r: ClosedRange<Double>) -> (values: [Double], step: Double) {
        let raw = (r.upperBound - r.lowerBound) / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var n = (r.lowerBound / step).rounded(.up), out: [Double] = []
        while n * step <= r.upperBound, out.count < 12 { out.append(n * step); n += 1 }
        return (out, step)
    }

    /// A tick label with as many decimals as the tick spacing needs.
    static func label(_ v: Double, step: Double) -> String {
        if abs(v) >= 1e5 { return String(format: "%.2g", v) }
        let decimals = max(0, Int(-floor(log10(step))))
        return String(format: "%.\(decimals)f", v)
    }
}

private func fmt(_ v: Double) -> String { String(format: "%.1f", v) }

/// Escapes &, <, >, " for HTML text and attributes.
func escapeHTML(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}
