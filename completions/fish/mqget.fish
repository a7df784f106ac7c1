# fish completion for mqget(1)

complete -c mqget -f
complete -c mqget -s 0 -d 'End each path with a NUL'
complete -c mqget -s b -d 'Write the bodies, acknowledging each'
complete -c mqget -s n -x -a '1 10 100 1000' -d 'Claim up to this many messages'
complete -c mqget -s p -x -a '(__fish_complete_pids)' -d 'Owner process of the claims'
complete -c mqget -s t -x -a '30s 5m 1h 1d' -d 'Visibility timeout of the claims'
complete -c mqget -s w -x -a '30s 5m 1h' -d 'Wait this long for a message'
complete -c mqget -a '(__fish_complete_directories)'
