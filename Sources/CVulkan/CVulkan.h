// Vulkan and shaderc declarations. The Vulkan loader is opened at run time with dlopen (see VulkanLibrary.swift), so
// a machine without one still runs the CPU engine; shaderc is linked statically from Debian's archives.
// VK_NO_PROTOTYPES keeps Swift from seeing Vulkan functions that nothing links.
#ifndef CVULKAN_H
#define CVULKAN_H
#define VK_NO_PROTOTYPES 1
#include <vulkan/vulkan.h>
#include <shaderc/shaderc.h>
#endif
