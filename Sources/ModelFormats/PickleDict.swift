/// Keys kept in insertion order, as `OrderedDict` (and every Python dict) keeps them.
final class PickleDict: PickleContainer {
    var keys: [String] = []
    var values: [String: PickleValue] = [:]
    var depth = 1
    var sealed = false
}
