// Placeholder until the PodNetCompiler work lands; replaced by its first real file.
