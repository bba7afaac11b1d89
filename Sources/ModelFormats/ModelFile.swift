public import Foundation

/// Reads the weights of a model file a user downloaded: `.safetensors`, or a PyTorch `.pth`/`.pt` as `torch.save`
/// writes it. The format is told by the bytes, not the name.
public enum ModelFile {
    /// Default for the largest model file read: far above any Real-ESRGAN network (x4plus is 67 MB in fp32).
    public static let defaultSizeLimit = 512 << 20

    public static func read(_ url: URL, sizeLimit: Int = defaultSizeLimit) throws -> StateDict {
        let file = url.lastPathComponent
        let size: Int
        do {
            size = try (FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
        } catch {
            throw ModelFileError(.unreadable, "cannot read \(url.path)", detail: "\(error)")
        }
        guard size <= sizeLimit else {
            throw ModelFileError(
                .tooLarge, "\(file) is \(size) bytes, over the \(sizeLimit)-byte limit for a model file")
        }
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw ModelFileError(.unreadable, "cannot read \(url.path)")
        }
        let magic = [UInt8](handle.readData(ofLength: 4))
        try? handle.close()
        let dict: StateDict
        if magic == [0x50, 0x4B, 0x03, 0x04] {
            dict = try TorchCheckpoint.read(url, file: file, sizeLimit: sizeLimit)
        } else if magic == [0x80, 0x02, 0x8A, 0x0A] {  // pickle protocol 2, then LONG1 of torch's 10-byte magic
            throw ModelFileError(
                .malformed,
                "\(file) is a PyTorch file of the format before 1.6, which is not read; load and save it again with a "
                    + "recent torch.save, or convert it to .safetensors")
        } else {
            let bytes: [UInt8]
            do {
                bytes = [UInt8](try Data(contentsOf: url))
            } catch {
                throw ModelFileError(.unreadable, "cannot read \(url.path)", detail: "\(error)")
            }
            dict = try SafeTensors.read(bytes, file: file)
        }
        guard !dict.names.isEmpty else { throw ModelFileError(.malformed, "\(file) holds no tensors") }
        return dict.removingPrefix("module.")
    }
}
