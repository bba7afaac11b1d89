/// A list or dictionary is `sealed` once it is put inside another container: a pickle that a state dict writes fills
/// every container before it nests it, so a later change is refused. That keeps each container's `depth` true (it
/// could not grow behind its parent's back) and rules out cycles, since only an unsealed container can take a child.
protocol PickleContainer: AnyObject {
    var depth: Int { get set }
    var sealed: Bool { get set }
}
