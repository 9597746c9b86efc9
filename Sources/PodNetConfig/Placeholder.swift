// Placeholder until the PodNetConfig work lands; replaced by its first real file.
