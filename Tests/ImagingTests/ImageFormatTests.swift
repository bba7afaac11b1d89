import Imaging
import Testing

@Suite struct ImageFormatTests {
    @Test(arguments: [
        ("png", ImageFormat.png), ("PNG", .png), ("jpg", .jpeg), ("JPEG", .jpeg), ("jpeg", .jpeg),
        ("WebP", .webp), ("webp", .webp),
    ])
    func parsesNames(name: String, expected: ImageFormat) {
        #expect(ImageFormat(name: name) == expected)
    }

    @Test(arguments: ["gif", "bmp", "", "png ", "tiff", "jpe"])
    func rejectsOtherNames(name: String) {
        #expect(ImageFormat(name: name) == nil)
    }

    @Test func fileExtensions() {
        #expect(ImageFormat.png.fileExtension == "png")
        #expect(ImageFormat.jpeg.fileExtension == "jpg")
        #expect(ImageFormat.webp.fileExtension == "webp")
    }

    @Test func defaultLimits() {
        #expect(ImageLimits.default.maxPixels == 50_000_000)
        #expect(ImageLimits.default.maxFileBytes == 100 * 1024 * 1024)
    }
}
