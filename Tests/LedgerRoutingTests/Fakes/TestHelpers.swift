import Synchronization

/// Yields until `condition` holds; gives up (returns false) after 10 s of real time instead of hanging. Only waits
/// for other tasks to reach a state, never for simulated time.
func eventually(_ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: .seconds(10))
    var turns = 0
    while ContinuousClock.now < deadline {
        if condition() { return true }
        turns += 1
        if turns % 1000 == 0 {
            try? await Task.sleep(for: .milliseconds(1))
        } else {
            await Task.yield()
        }
    }
    return condition()
}

/// A fixed sequence of random draws, repeating its last one.
final class Draws: Sendable {
    private let values: Mutex<[Double]>
    init(_ values: [Double]) { self.values = Mutex(values) }
    func next() -> Double {
        values.withLock { values in values.count > 1 ? values.removeFirst() : (values.first ?? 0.5) }
    }
}

/// A list that concurrent tasks append to.
final class Journal: Sendable {
    private let entries = Mutex<[String]>([])
    func append(_ entry: String) { entries.withLock { $0.append(entry) } }
    var all: [String] { entries.withLock { $0 } }
}
