# fish completion for mqpurge(1)

complete -c mqpurge -f
complete -c mqpurge -s n -d 'Dry run: print what would be deleted'
complete -c mqpurge -s r -x -d 'Only the dead letters of this reason'
complete -c mqpurge -s s -x -a 'visible delayed waiting inflight expired done dead tmp all' -d 'The states to delete'
complete -c mqpurge -s v -d 'A line per message'
complete -c mqpurge -a '(__fish_complete_directories (commandline -ct))'
