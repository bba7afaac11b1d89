import CVulkan
import Inference

/// GLSL to SPIR-V through shaderc, linked statically (with glslang and SPIRV-Tools) from Debian's archives.
///
/// Shaders are compiled when an engine is made rather than at build time, so no SPIR-V is kept in the repository and
/// each precision's variant is made from one source. Debian 12's shared libshaderc.so.1 cannot be loaded on its own
/// (it leaves glslang's symbols undefined), which is why the static archives are linked instead.
struct ShaderCompiler: @unchecked Sendable {
    // shaderc's compiler object is thread-safe for compiles and lives as long as the process.
    private let compiler: shaderc_compiler_t

    /// The compiler, once per process.
    static let shared: Result<ShaderCompiler, InferenceError> = {
        guard let compiler = shaderc_compiler_initialize() else {
            return .failure(InferenceError(.backendFailure, "the shader compiler did not start"))
        }
        return .success(ShaderCompiler(compiler: compiler))
    }()

    /// Compiles one compute shader with the given macro definitions to SPIR-V words.
    func spirv(_ source: String, name: String, macros: [String: String]) throws -> [UInt32] {
        guard let options = shaderc_compile_options_initialize() else {
            throw InferenceError(.backendFailure, "shaderc options failed")
        }
        defer { shaderc_compile_options_release(options) }
        shaderc_compile_options_set_optimization_level(options, shaderc_optimization_level_performance)
        shaderc_compile_options_set_target_env(
            options, shaderc_target_env_vulkan,
            UInt32(shaderc_env_version_vulkan_1_1.rawValue))
        for (key, value) in macros.sorted(by: { $0.key < $1.key }) {
            shaderc_compile_options_add_macro_definition(options, key, key.utf8.count, value, value.utf8.count)
        }
        let result = shaderc_compile_into_spv(
            compiler, source, source.utf8.count, shaderc_compute_shader, name, "main",
            options)
        defer { shaderc_result_release(result) }
        guard shaderc_result_get_compilation_status(result) == shaderc_compilation_status_success,
            let start = shaderc_result_get_bytes(result)
        else {
            let message = shaderc_result_get_error_message(result).map { String(cString: $0) } ?? "unknown error"
            throw InferenceError(.backendFailure, "shader \(name) did not compile", detail: message)
        }
        let count = shaderc_result_get_length(result) / 4
        return [UInt32](unsafeUninitializedCapacity: count) { words, initialized in
            UnsafeMutableRawBufferPointer(words).copyMemory(
                from: UnsafeRawBufferPointer(start: start, count: count * 4))
            initialized = count
        }
    }
}
