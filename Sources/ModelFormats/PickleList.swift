/// A Python list the unpickler built (see ``PickleContainer``).
final class PickleList: PickleContainer {
    var items: [PickleValue] = []
    var depth = 1
    var sealed = false
}
