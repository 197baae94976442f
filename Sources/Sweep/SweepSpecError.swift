/// A problem in a sweep file, with its position: `sweep.yaml:12:5: unknown key 'revisons'
/// (did you mean 'revisions'?)`. Line and column are 1-based; 0 means "whole file".
public struct SweepSpecError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        line > 0 ? "\(file):\(line):\(column): \(message)" : "\(file): \(message)"
    }
}
