// Placeholder until the PodNetIptables work lands; replaced by its first real file.
