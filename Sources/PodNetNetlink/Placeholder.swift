// Placeholder until the PodNetNetlink work lands; replaced by its first real file.
